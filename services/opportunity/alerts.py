"""Deal alerts: stalled, close date passed, pushed out too often; each fires once.

Pure: the caller passes now and records what it sent with mark_alerted; nothing sends.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from services.opportunity.pipeline import Pipeline
from services.opportunity.state import Opportunity

PUSH_ALERT_THRESHOLD = 3


class AlertKind(StrEnum):
    STALLED = "stalled"
    CLOSE_DATE_PASSED = "close_date_passed"
    PUSHED_OUT = "pushed_out"


@dataclass(frozen=True)
class Alert:
    """One alert; condition names the instance (e.g. when a stall began): fires once."""

    opportunity_id: str
    kind: AlertKind
    condition: str
    stage: str
    owner_id: str
    raised_at: datetime

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.condition}"


def check_alerts(state: Opportunity, pipeline: Pipeline, now: datetime) -> tuple[Alert, ...]:
    """The alerts that hold at now and have not been marked yet; none for a closed deal.

    Stalled: no stage change or activity for the stage's days_to_stall, counted from the
    later of the two, so a stage change or an activity starts a new stall that can fire.
    Close date passed: now's date is after the close date (a new close date fires anew).
    Pushed out: the close date moved later PUSH_ALERT_THRESHOLD times or more (once).
    """
    if not state.is_open:
        return ()
    found = (
        _stalled(state, pipeline, now),
        _close_date_passed(state, now),
        _pushed_out(state, now),
    )
    return tuple(a for a in found if a is not None and a.key not in state.alerted)


def mark_alerted(state: Opportunity, alerts: tuple[Alert, ...]) -> Opportunity:
    """Remember alerts as sent; the newest key per kind replaces the older one."""
    return remember_alert_keys(state, tuple(a.key for a in alerts))


def remember_alert_keys(state: Opportunity, keys: tuple[str, ...]) -> Opportunity:
    """mark_alerted by Alert.key values (kind:condition), as the internal command carries them."""
    kinds = {f"{key.partition(':')[0]}:" for key in keys}
    kept = [k for k in state.alerted if not any(k.startswith(p) for p in kinds)]
    return replace(state, alerted=tuple(sorted({*kept, *keys})))


def _stalled(state: Opportunity, pipeline: Pipeline, now: datetime) -> Alert | None:
    stage = pipeline.stage(state.stage)
    stall_after = None if stage is None else stage.stall_after
    if stall_after is None:
        return None
    since = state.last_touched_at
    if now - since < stall_after:
        return None
    return _alert(state, AlertKind.STALLED, f"{state.stage}@{since.isoformat()}", now)


def _close_date_passed(state: Opportunity, now: datetime) -> Alert | None:
    if now.date() <= state.close_date:
        return None
    condition = state.close_date.isoformat()
    return _alert(state, AlertKind.CLOSE_DATE_PASSED, condition, now)


def _pushed_out(state: Opportunity, now: datetime) -> Alert | None:
    if state.push_count < PUSH_ALERT_THRESHOLD:
        return None
    return _alert(state, AlertKind.PUSHED_OUT, f"{PUSH_ALERT_THRESHOLD}+", now)


def _alert(state: Opportunity, kind: AlertKind, condition: str, now: datetime) -> Alert:
    return Alert(state.opportunity_id, kind, condition, state.stage, state.owner_id, now)
