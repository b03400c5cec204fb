"""Test builders: the default pipeline, a fixed clock and commands with fresh ids."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from decimal import Decimal

from services.opportunity.commands import Command, OpenOpportunity
from services.opportunity.domain import Applied, apply_command
from services.opportunity.pipeline import load_pipelines
from services.opportunity.rejections import Rejected
from services.opportunity.state import Opportunity

CONFIG = load_pipelines()
PIPELINE = CONFIG.get_default()
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
_ids = itertools.count(1)


def new_id() -> str:
    return f"cmd-{next(_ids)}"


def open_command(**overrides: object) -> OpenOpportunity:
    fields: dict[str, object] = {
        "command_id": new_id(),
        "opportunity_id": "opp-1",
        "account_id": "acct-1",
        "amount": Decimal("10000.00"),
        "currency": "EUR",
        "close_date": date(2025, 6, 30),
        "owner_id": "rep-1",
    }
    fields.update(overrides)
    return OpenOpportunity(**fields)  # type: ignore[arg-type]


def applied(state: Opportunity | None, command: Command, now: datetime) -> Applied:
    result = apply_command(state, command, PIPELINE, now)
    assert isinstance(result, Applied), result
    return result


def rejected(state: Opportunity | None, command: Command, now: datetime) -> Rejected:
    result = apply_command(state, command, PIPELINE, now)
    assert isinstance(result, Rejected), result
    return result


def opened(now: datetime = T0, **overrides: object) -> Opportunity:
    return applied(None, open_command(**overrides), now).state
