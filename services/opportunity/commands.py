"""Commands the opportunity stage machine accepts, as frozen values.

Plain data: apply_command judges them; nothing here validates, reads a clock, does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum


class ActivityKind(StrEnum):
    CALL = "call"
    MEETING = "meeting"
    EMAIL = "email"


@dataclass(frozen=True, kw_only=True)
class CommandBase:
    """command_id makes re-delivery harmless: an id already applied is a no-op."""

    command_id: str
    opportunity_id: str


@dataclass(frozen=True, kw_only=True)
class OpenOpportunity(CommandBase):
    """Open a deal, directly or from a converted lead; stage defaults to the first."""

    account_id: str
    amount: Decimal
    currency: str
    close_date: date
    owner_id: str
    lead_id: str | None = None
    stage: str | None = None
    pipeline: str | None = None


@dataclass(frozen=True, kw_only=True)
class ChangeStage(CommandBase):
    """Move an open deal to another open stage, forwards or backwards."""

    stage: str


@dataclass(frozen=True, kw_only=True)
class UpdateOpportunity(CommandBase):
    """Change what is given (None keeps a field); a later close date is a push."""

    amount: Decimal | None = None
    close_date: date | None = None
    next_step: str | None = None


@dataclass(frozen=True, kw_only=True)
class LogActivity(CommandBase):
    """Record a call, meeting or email; occurred_at defaults to when it is applied."""

    kind: ActivityKind
    occurred_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class CloseWon(CommandBase):
    """Close as won, optionally with the final amount."""

    amount: Decimal | None = None


@dataclass(frozen=True, kw_only=True)
class CloseLost(CommandBase):
    """Close as lost, with a reason from the pipeline's configured list."""

    reason: str


@dataclass(frozen=True, kw_only=True)
class Reopen(CommandBase):
    """Re-open a closed deal at the given open stage, else its last open stage."""

    stage: str | None = None


@dataclass(frozen=True, kw_only=True)
class MarkAlerted(CommandBase):
    """Internal, from the alert timer: remember these Alert keys as reported (no visible change)."""

    alert_keys: tuple[str, ...]


Command = MarkAlerted | OpenOpportunity | ChangeStage | UpdateOpportunity | LogActivity | CloseWon | CloseLost | Reopen
