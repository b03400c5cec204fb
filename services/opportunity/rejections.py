"""Why a command is refused: the reasons, the Rejected value, the checks yielding it.

Pure: each check returns a Rejected or passes; nothing here raises or does I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from services.opportunity.pipeline import Pipeline, Stage

_CURRENCY = re.compile(r"[A-Z]{3}")


class RejectReason(StrEnum):
    UNKNOWN_OPPORTUNITY = "unknown_opportunity"
    DUPLICATE_OPEN = "duplicate_open"
    UNKNOWN_PIPELINE = "unknown_pipeline"
    UNKNOWN_STAGE = "unknown_stage"
    ILLEGAL_TRANSITION = "illegal_transition"
    CLOSED_DEAL_EDITED = "closed_deal_edited"
    NEGATIVE_AMOUNT = "negative_amount"
    INVALID_AMOUNT = "invalid_amount"
    INVALID_CURRENCY = "invalid_currency"
    UNKNOWN_LOST_REASON = "unknown_lost_reason"
    EMPTY_UPDATE = "empty_update"


@dataclass(frozen=True)
class Rejected:
    """Nothing was applied; reason is machine-readable, detail is for people."""

    reason: RejectReason
    detail: str


def check_open_stage(pipeline: Pipeline, name: str) -> Stage | Rejected:
    stage = pipeline.stage(name)
    if stage is None:
        return Rejected(RejectReason.UNKNOWN_STAGE, f"{name!r} is not in {pipeline.name!r}")
    if not stage.is_open:
        # Closing goes through CloseWon/CloseLost, which carry the amount or the reason.
        return Rejected(RejectReason.ILLEGAL_TRANSITION, f"{name!r} is closed; use a close command")
    return stage


def check_amount(amount: Decimal) -> Rejected | None:
    if not amount.is_finite():
        return Rejected(RejectReason.INVALID_AMOUNT, f"amount {amount} is not a number")
    if amount < 0:
        return Rejected(RejectReason.NEGATIVE_AMOUNT, f"amount {amount} is negative")
    return None


def check_currency(currency: str) -> Rejected | None:
    if _CURRENCY.fullmatch(currency) is None:
        return Rejected(RejectReason.INVALID_CURRENCY, f"{currency!r} is no ISO 4217 code")
    return None
