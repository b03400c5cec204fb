"""opportunity's HTTP API on port 8005: commands in (202 once the broker has them), deals out.

POST /v1/opportunities (open), POST /v1/opportunities/{id}/commands, POST /v1/leads/{id}/convert;
GET /v1/opportunities/{id} and GET /v1/opportunities?owner=&stage= from the Redis read model, so
any replica answers. 401 without a valid key, 400 bad JSON, 413 too large, 422 not a command.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from faust.web import Request, Response, View

from services.opportunity.app import COMMANDS, Opportunities
from services.opportunity.records import (
    INTERNAL_COMMAND_TYPES,
    CommandDecodeError,
    command_from_record,
    command_record,
    conversion_opportunity_id,
    open_from_conversion,
)
from services.opportunity.serialization import opportunity_from_dict
from services.opportunity.state import time_in_stage
from shared.http_api import HttpApi, HttpError, read_json

_BODY_FIELDS = frozenset(
    {
        "account_id",
        "owner_id",
        "lead_id",
        "pipeline",
        "stage",
        "amount",
        "currency",
        "close_date",
        "next_step",
        "reason",
        "activity_kind",
        "activity_at",
    }
)
_CONVERSION_FIELDS = (
    "opportunity_id",
    "account_id",
    "amount",
    "currency",
    "close_date",
    "owner_id",
    "pipeline",
    "stage",
)
_HIDDEN = ("applied_command_ids", "alerted")


async def read_object(request: Request, limit: int) -> dict[str, Any]:
    payload = await read_json(request, limit)
    if not isinstance(payload, dict):
        raise HttpError(422, "the body must be a JSON object")
    return payload


def command_from_body(body: dict[str, Any], opportunity_id: str, kind: str) -> dict[str, Any]:
    """An OpportunityCommand record from a JSON body, checked as the agent will check it."""
    if kind in INTERNAL_COMMAND_TYPES:
        raise HttpError(422, f"type: {kind!r} is internal")
    unknown = sorted(set(body) - _BODY_FIELDS - {"type", "command_id", "opportunity_id"})
    if unknown:
        raise HttpError(422, f"{unknown[0]}: unknown field")
    fields = {name: _field(name, body[name]) for name in _BODY_FIELDS if body.get(name) is not None}
    command_id = _field("command_id", body.get("command_id") or str(uuid.uuid4()))
    record = command_record(opportunity_id, command_id, kind, datetime.now(UTC), fields | {"source": "http"})
    try:
        command_from_record(record)
    except CommandDecodeError as exc:
        raise HttpError(422, str(exc)) from exc
    return record


def _field(name: str, value: Any) -> Any:
    if name == "amount" and isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise HttpError(422, f"{name}: must be a string")
    if name == "activity_at":
        return _aware_time(value)
    return value


def _aware_time(text: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise HttpError(422, f"activity_at: {text!r} is not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise HttpError(422, "activity_at: needs a UTC offset")
    return parsed


def deal_view(document: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The API's view of a stored deal: its state plus seconds spent in each stage so far."""
    state = opportunity_from_dict(document)
    spent = {stage: round(delta.total_seconds(), 3) for stage, delta in time_in_stage(state, now).items()}
    current = round((now - state.stage_entered_at).total_seconds(), 3)
    view = {k: v for k, v in document.items() if k not in _HIDDEN}
    return view | {"time_in_stage_seconds": spent, "seconds_in_current_stage": max(current, 0.0)}


def install_http_api(service: Opportunities) -> None:
    app, runtime, config = service.runtime.app, service.runtime, service.config
    answer = HttpApi(runtime.metrics, config.api_keys).answer

    async def submit(record: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        await runtime.send(COMMANDS, record["opportunity_id"], ("OpportunityCommand", record), wait=True)
        return 202, {"command_id": record["event_id"], "opportunity_id": record["opportunity_id"]}

    async def open_deal(request: Request) -> tuple[int, dict[str, Any]]:
        body = await read_object(request, config.max_body_bytes)
        opportunity_id = _field("opportunity_id", body.get("opportunity_id") or f"opp_{uuid.uuid4().hex}")
        return await submit(command_from_body(body, opportunity_id, "open"))

    async def command(request: Request, opportunity_id: str) -> tuple[int, dict[str, Any]]:
        body = await read_object(request, config.max_body_bytes)
        kind = body.get("type")
        if not isinstance(kind, str):
            raise HttpError(422, "type: is required")
        return await submit(command_from_body(body, opportunity_id, kind))

    async def convert(request: Request, lead_id: str) -> tuple[int, dict[str, Any]]:
        body = await read_object(request, config.max_body_bytes)
        fields = {name: _field(name, body[name]) for name in _CONVERSION_FIELDS if body.get(name) is not None}
        event_id = _field("event_id", body.get("event_id") or str(uuid.uuid4()))
        record = dict.fromkeys(_CONVERSION_FIELDS) | fields
        record |= {"event_id": event_id, "lead_id": lead_id, "occurred_at": datetime.now(UTC)}
        try:
            command_from_record(open_from_conversion(record))
        except CommandDecodeError as exc:
            raise HttpError(422, str(exc)) from exc
        await runtime.send("leads.converted", lead_id, ("LeadConverted", record), wait=True)
        opportunity_id = conversion_opportunity_id(record)
        return 202, {"event_id": event_id, "lead_id": lead_id, "opportunity_id": opportunity_id}

    async def get_deal(opportunity_id: str) -> tuple[int, dict[str, Any]]:
        document = await service.store.get(opportunity_id)
        if document is None:
            raise HttpError(404, f"no opportunity {opportunity_id!r}")
        return 200, deal_view(document, datetime.now(UTC))

    async def list_deals(request: Request) -> tuple[int, dict[str, Any]]:
        owner, stage = request.query.get("owner") or None, request.query.get("stage") or None
        found = await service.store.query(owner, stage, config.max_list)
        now = datetime.now(UTC)
        return 200, {"opportunities": [deal_view(d, now) for d in found], "count": len(found)}

    @app.page("/v1/opportunities")
    class Deals(View):
        async def post(self, request: Request) -> Response:
            return await answer(self, "/v1/opportunities", request, lambda: open_deal(request))

        async def get(self, request: Request) -> Response:
            return await answer(self, "/v1/opportunities", request, lambda: list_deals(request))

    @app.page("/v1/opportunities/{opportunity_id}")
    class Deal(View):
        async def get(self, request: Request, opportunity_id: str) -> Response:
            return await answer(self, "/v1/opportunities/{id}", request, lambda: get_deal(opportunity_id))

    @app.page("/v1/opportunities/{opportunity_id}/commands")
    class DealCommands(View):
        async def post(self, request: Request, opportunity_id: str) -> Response:
            route = "/v1/opportunities/{id}/commands"
            return await answer(self, route, request, lambda: command(request, opportunity_id))

    @app.page("/v1/leads/{lead_id}/convert")
    class Convert(View):
        async def post(self, request: Request, lead_id: str) -> Response:
            return await answer(self, "/v1/leads/{id}/convert", request, lambda: convert(request, lead_id))
