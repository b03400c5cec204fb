"""Incoming records (decoded Avro dicts, or JSON bodies shaped like them) into domain values.

Pure: raises `IntakeError` naming the field for anything the schema lets through but the domain refuses.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from services.proposal.approvals import Decision
from services.proposal.presentation import Party
from services.proposal.pricing import ZERO, LineRequest, PricingRequest
from services.proposal.workflow import Quote, QuoteRequest


class IntakeError(ValueError):
    """A record whose values cannot be used; the message names the field."""


def quote_request(value: Mapping[str, Any]) -> QuoteRequest:
    """A ProposalRequested record as a request to price and issue."""
    customer, requester = value["customer"], value["requested_by"]
    party = Party(
        _text(customer["company"], "customer.company"),
        customer.get("contact") or "",
        tuple(customer.get("address") or ()),
        customer.get("email") or "",
    )
    quote = Quote(
        party,
        value.get("terms") or "",
        _text(requester["rep_id"], "requested_by.rep_id"),
        _text(requester["role"], "requested_by.role"),
        value["event_id"],
    )
    pricing = PricingRequest(
        currency=value["currency"],
        lines=tuple(_line(line, i) for i, line in enumerate(value["lines"])),
        segment=value.get("segment"),
        overall_discount=_fraction(value.get("overall_discount"), "overall_discount"),
        tax_rate=_fraction(value.get("tax_rate"), "tax_rate"),
    )
    number = value.get("proposal_number")
    return QuoteRequest(_text(value["opportunity_id"], "opportunity_id"), number, pricing, value["valid_until"], quote)


def _line(raw: Mapping[str, Any], index: int) -> LineRequest:
    return LineRequest(raw["sku"], raw["quantity"], _fraction(raw.get("discount"), f"lines[{index}].discount"))


def decision(value: Mapping[str, Any]) -> tuple[str, int, Decision]:
    """An ApprovalDecided record as (number, version, decision)."""
    made = Decision(
        _text(value["role"], "role"),
        _text(value["approver"], "approver"),
        value["approved"],
        value["occurred_at"],
        value.get("note") or "",
    )
    return value["number"], value["version"], made


def _fraction(raw: str | None, where: str) -> Decimal:
    if raw is None or raw == "":
        return ZERO
    try:
        number = Decimal(raw)
    except InvalidOperation as error:
        raise IntakeError(f"{where} must be a decimal string, got {raw!r}") from error
    if not number.is_finite():
        raise IntakeError(f"{where} must be finite, got {raw!r}")
    return number


def _text(raw: str, where: str) -> str:
    if not raw.strip():
        raise IntakeError(f"{where} must not be empty")
    return raw


def request_record(body: Mapping[str, Any], event_id: str, now: datetime) -> dict[str, Any]:
    """A JSON request body as the ProposalRequested record it stands for.

    The body's own event_id wins (client retries dedupe); `valid_until` comes as YYYY-MM-DD.
    """
    try:
        valid_until = date.fromisoformat(str(body.get("valid_until")))
    except ValueError as error:
        raise IntakeError("valid_until must be a date, YYYY-MM-DD") from error
    lines = body.get("lines")
    return {
        "event_id": str(body.get("event_id") or event_id),
        "occurred_at": now,
        "opportunity_id": body.get("opportunity_id"),
        "proposal_number": body.get("proposal_number"),
        "customer": _customer(body.get("customer")),
        "lines": [_line_record(line) for line in lines] if isinstance(lines, list) else lines,
        "overall_discount": body.get("overall_discount"),
        "tax_rate": body.get("tax_rate", "0"),
        "currency": body.get("currency"),
        "segment": body.get("segment"),
        "terms": body.get("terms", ""),
        "valid_until": valid_until,
        "requested_by": body.get("requested_by"),
    }


def _customer(raw: Any) -> Any:
    if not isinstance(raw, Mapping):
        return raw
    return {"contact": None, "email": None, "address": [], **raw}


def _line_record(raw: Any) -> Any:
    return {"discount": None, **raw} if isinstance(raw, Mapping) else raw
