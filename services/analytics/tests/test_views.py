"""Tests of the API bodies read out of summed totals."""

from datetime import UTC, datetime

import pytest

from services.analytics.deals import fold_deal
from services.analytics.forecast import parse_period
from services.analytics.totals import apply_deal, overall
from services.analytics.views import forecast_view, funnel_view, one_rep_view, reps_view, sequence_view, speed_view

from .builders import T0, deal, lead
from .test_totals import fold_all


def test_funnel_view_groups_and_conversions() -> None:
    """by=source gives one group per source with counts and consecutive conversion rates."""
    totals = overall(
        [
            fold_all(
                [
                    lead("captured", 0, "L1", source="web"),
                    lead("scored", 1, "L1"),
                    lead("captured", 0, "L2", source="web"),
                ]
            )
        ]
    )
    body = funnel_view(totals, "source", None)
    assert [g["value"] for g in body["groups"]] == ["web"]
    group = body["groups"][0]
    assert group["counts"]["captured"] == 2 and group["conversion"]["captured->scored"] == 0.5


def test_funnel_view_over_a_window_span() -> None:
    """A span counts only windows starting inside it."""
    totals = overall([fold_all([lead("captured", 0, "L1"), lead("captured", 120, "L2")])])
    span = (T0, T0.replace(hour=T0.hour + 1), "hour")
    assert funnel_view(totals, "all", span)["groups"][0]["counts"]["captured"] == 1  # type: ignore[arg-type]


def test_funnel_view_refuses_an_unknown_dimension() -> None:
    """by must be a known dimension."""
    with pytest.raises(ValueError, match="by must be one of"):
        funnel_view(overall([]), "email", None)


def test_forecast_rep_and_speed_views() -> None:
    """Amounts are cent strings; a rep's win rate is null before any closed deal."""
    record = fold_deal(None, deal("e1", 0, amount="1000", probability="0.25", category="commit"))
    totals = overall([apply_deal(fold_all([lead("assigned", 0, rep_id="r1")]), None, record)])
    body = forecast_view(totals, parse_period("2026-Q4"), datetime(2026, 11, 1, tzinfo=UTC))
    assert body["categories"]["commit"] == {"raw": "1000.00", "weighted": "250.00"}
    assert body["won"] == "0.00"
    rep = one_rep_view(totals, "r1", {"r1": 10})
    assert rep is not None and (rep["leads_assigned"], rep["opportunities_opened"], rep["win_rate"]) == (1, 1, None)
    assert rep["load_ratio"] == 0.1
    assert one_rep_view(totals, "nobody", {}) is None
    assert [r["rep_id"] for r in reps_view(totals, {})["reps"]] == ["r1"]
    assert speed_view(totals)["assignment_to_first_touch"]["count"] == 0


def test_sequence_view_is_none_without_numbers() -> None:
    """A sequence nobody was sent has no stats."""
    assert sequence_view(overall([]), "s1") is None


def test_sequence_view_shows_enrolment_changes_and_exit_reasons() -> None:
    """Enrolments, exits by reason and the enrolments still running come with a sequence's stats."""
    from services.analytics.inputs import EnrolmentChange
    from services.analytics.nurture_stats import count_enrolment
    from services.analytics.tally import combine
    from services.analytics.totals import add_running, new_totals

    changes = [("enrolled", None), ("enrolled", None), ("exited", "email_reply"), ("paused", "out_of_office")]
    tally = combine(*(count_enrolment(EnrolmentChange("s9", c, r)) for c, r in changes))
    body = sequence_view(overall([add_running(new_totals(), tally)]), "s9")
    assert body is not None and body["rows"] == []
    enrolments = body["enrolments"]
    assert (enrolments["changes"]["enrolled"], enrolments["in_progress"]) == (2, 1)
    assert enrolments["exited_by_reason"] == {"email_reply": 1}
    assert enrolments["paused_by_reason"] == {"out_of_office": 1}
