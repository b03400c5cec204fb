"""Alerts: stall rules per stage, overdue close dates, repeated pushes, each once."""

from __future__ import annotations

from datetime import date, timedelta

from services.opportunity.alerts import (
    Alert,
    AlertKind,
    check_alerts,
    mark_alerted,
    remember_alert_keys,
)
from services.opportunity.commands import (
    ActivityKind,
    ChangeStage,
    CloseWon,
    LogActivity,
    MarkAlerted,
    UpdateOpportunity,
)
from services.opportunity.domain import Applied, apply_command
from services.opportunity.pipeline import parse_pipelines
from services.opportunity.state import Opportunity
from services.opportunity.tests.builders import PIPELINE, T0, applied, new_id, open_command, opened

DAY = timedelta(days=1)
FAR_CLOSE = date(2026, 12, 31)  # keeps the overdue rule quiet in stall tests


def _kinds(alerts: tuple[Alert, ...]) -> list[AlertKind]:
    return [a.kind for a in alerts]


def _activity(state: Opportunity, at_day: float) -> Opportunity:
    command = LogActivity(command_id=new_id(), opportunity_id="opp-1", kind=ActivityKind.CALL)
    return applied(state, command, T0 + at_day * DAY).state


def _push(state: Opportunity, to: date) -> Opportunity:
    command = UpdateOpportunity(command_id=new_id(), opportunity_id="opp-1", close_date=to)
    return applied(state, command, T0).state


def test_stall_fires_at_the_stage_threshold_not_before() -> None:
    """Qualification stalls after 14 quiet days, not at 13 days 23 hours."""
    state = opened(close_date=FAR_CLOSE)
    assert check_alerts(state, PIPELINE, T0 + 14 * DAY - timedelta(hours=1)) == ()
    alerts = check_alerts(state, PIPELINE, T0 + 14 * DAY)
    assert _kinds(alerts) == [AlertKind.STALLED]
    assert (alerts[0].stage, alerts[0].owner_id) == ("qualification", "rep-1")


def test_each_stage_has_its_own_threshold() -> None:
    """Negotiation stalls after 10 days, sooner than qualification's 14."""
    state = opened(close_date=FAR_CLOSE, stage="negotiation")
    assert _kinds(check_alerts(state, PIPELINE, T0 + 10 * DAY)) == [AlertKind.STALLED]
    assert check_alerts(opened(close_date=FAR_CLOSE), PIPELINE, T0 + 10 * DAY) == ()


def test_activity_postpones_the_stall() -> None:
    """A logged activity restarts the stall clock."""
    state = _activity(opened(close_date=FAR_CLOSE), at_day=10)
    assert check_alerts(state, PIPELINE, T0 + 20 * DAY) == ()
    assert _kinds(check_alerts(state, PIPELINE, T0 + 24 * DAY)) == [AlertKind.STALLED]


def test_stall_fires_once_until_reset_then_again() -> None:
    """A marked stall stays quiet on later ticks; a stage change lets a new one fire."""
    state = opened(close_date=FAR_CLOSE)
    first = check_alerts(state, PIPELINE, T0 + 15 * DAY)
    state = mark_alerted(state, first)
    assert check_alerts(state, PIPELINE, T0 + 16 * DAY) == ()
    assert check_alerts(state, PIPELINE, T0 + 90 * DAY) == ()
    moved = ChangeStage(command_id=new_id(), opportunity_id="opp-1", stage="discovery")
    state = applied(state, moved, T0 + 20 * DAY).state
    assert check_alerts(state, PIPELINE, T0 + 40 * DAY) == ()
    again = check_alerts(state, PIPELINE, T0 + 41 * DAY)
    assert _kinds(again) == [AlertKind.STALLED] and again[0].key != first[0].key
    state = mark_alerted(state, again)
    assert len(state.alerted) == 1


def test_close_date_passed_fires_once_per_close_date() -> None:
    """An overdue open deal alerts once; a new close date that passes alerts again."""
    state = _activity(opened(close_date=date(2025, 3, 10)), at_day=7)
    assert check_alerts(state, PIPELINE, T0 + 7 * DAY) == ()  # on the close date itself
    alerts = check_alerts(state, PIPELINE, T0 + 8 * DAY)
    assert _kinds(alerts) == [AlertKind.CLOSE_DATE_PASSED]
    state = mark_alerted(state, alerts)
    assert check_alerts(state, PIPELINE, T0 + 9 * DAY) == ()
    state = _push(state, date(2025, 3, 14))
    state = _activity(state, at_day=10)
    assert _kinds(check_alerts(state, PIPELINE, T0 + 12 * DAY)) == [AlertKind.CLOSE_DATE_PASSED]


def test_pushed_three_times_fires_once() -> None:
    """The third push alerts; a fourth does not alert again."""
    state = opened(close_date=FAR_CLOSE)
    for month in (1, 2):
        state = _push(state, date(2027, month, 1))
    assert check_alerts(state, PIPELINE, T0) == ()
    state = _push(state, date(2027, 3, 1))
    alerts = check_alerts(state, PIPELINE, T0)
    assert _kinds(alerts) == [AlertKind.PUSHED_OUT]
    state = mark_alerted(state, alerts)
    state = _push(state, date(2027, 4, 1))
    assert state.push_count == 4 and check_alerts(state, PIPELINE, T0) == ()


def test_closed_deal_raises_no_alert() -> None:
    """A won deal is neither stalled nor overdue."""
    close = CloseWon(command_id=new_id(), opportunity_id="opp-1")
    state = applied(opened(close_date=date(2025, 3, 4)), close, T0).state
    assert check_alerts(state, PIPELINE, T0 + 365 * DAY) == ()


def test_several_conditions_fire_together_and_are_marked_together() -> None:
    """Stalled and overdue at once give two alerts; marking both silences both."""
    state = opened(close_date=date(2025, 3, 5))
    alerts = check_alerts(state, PIPELINE, T0 + 30 * DAY)
    assert sorted(_kinds(alerts)) == [AlertKind.CLOSE_DATE_PASSED, AlertKind.STALLED]
    marked = mark_alerted(state, alerts)
    assert check_alerts(marked, PIPELINE, T0 + 31 * DAY) == ()
    assert marked.version == state.version


def _mark(state: Opportunity, keys: tuple[str, ...], command_id: str = "mark-1") -> Applied:
    return applied(state, MarkAlerted(command_id=command_id, opportunity_id="opp-1", alert_keys=keys), T0)


def test_mark_alerted_command_silences_the_alert_without_a_visible_change() -> None:
    """The internal mark command remembers the key, so the alert is not found again, and changes nothing visible."""
    state = opened(close_date=FAR_CLOSE)
    alerts = check_alerts(state, PIPELINE, T0 + 14 * DAY)
    result = _mark(state, tuple(a.key for a in alerts))
    assert result.changed == ()
    assert result.state.version == state.version
    assert check_alerts(result.state, PIPELINE, T0 + 15 * DAY) == ()


def test_mark_alerted_command_is_idempotent_by_command_id() -> None:
    """A re-delivered mark command is a duplicate no-op."""
    state = _mark(opened(close_date=FAR_CLOSE), ("stalled:x",)).state
    again = _mark(state, ("stalled:y",))
    assert again.duplicate
    assert again.state.alerted == ("stalled:x",)


def test_mark_alerted_applies_to_closed_deals() -> None:
    """A mark racing a close still lands: it is bookkeeping, not an edit."""
    closed = applied(opened(), CloseWon(command_id=new_id(), opportunity_id="opp-1"), T0).state
    assert _mark(closed, ("close_date_passed:2025-06-30",)).state.alerted == ("close_date_passed:2025-06-30",)


def test_remember_alert_keys_matches_mark_alerted() -> None:
    """Marking by keys and by alerts gives the same state."""
    state = _push(_push(_push(opened(close_date=date(2025, 4, 1)), date(2025, 5, 1)), date(2025, 6, 1)), FAR_CLOSE)
    alerts = check_alerts(state, PIPELINE, T0 + 30 * DAY)
    assert alerts
    assert remember_alert_keys(state, tuple(a.key for a in alerts)) == mark_alerted(state, alerts)


def test_fractional_stall_threshold_fires_after_hours() -> None:
    """A stage with days_to_stall 0.5 stalls after twelve quiet hours."""
    config = parse_pipelines(
        {
            "lost_reasons": ["price"],
            "pipelines": [
                {
                    "name": "fast",
                    "stages": [
                        {
                            "name": "new",
                            "order": 1,
                            "probability": "0.5",
                            "forecast_category": "Pipeline",
                            "type": "open",
                            "days_to_stall": 0.5,
                        },
                        {"name": "won", "order": 2, "probability": "1", "forecast_category": "Closed", "type": "won"},
                        {
                            "name": "lost",
                            "order": 3,
                            "probability": "0",
                            "forecast_category": "Omitted",
                            "type": "lost",
                        },
                    ],
                }
            ],
        }
    )
    fast = config.get_default()
    state = apply_command(None, open_command(pipeline="fast", close_date=FAR_CLOSE), fast, T0)
    assert isinstance(state, Applied)
    assert check_alerts(state.state, fast, T0 + timedelta(hours=11, minutes=59)) == ()
    assert _kinds(check_alerts(state.state, fast, T0 + timedelta(hours=12))) == [AlertKind.STALLED]
