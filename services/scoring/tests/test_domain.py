"""Tests for the pure scoring domain: fit, engagement decay, scores, profiles, emission."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.scoring.domain import (
    Engagement,
    Factor,
    LeadFacts,
    LeadProfile,
    Score,
    ScoringDecision,
    apply_score,
    assemble_score,
    decide_emission,
    new_profile,
    profile_from_dict,
    profile_to_dict,
    record_engagement,
    score_lead,
    sum_points,
    update_facts,
)
from services.scoring.engagement import decay_multiplier, score_engagement
from services.scoring.fit import score_fit
from services.scoring.model import ENGAGEMENT_TYPES, EngagementType
from services.scoring.rules import default_rules_path, load_rules

RULES = load_rules(default_rules_path())
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
PROPERTY = settings(max_examples=150, deadline=None)

IDEAL = LeadFacts(
    email="ann@acme.io",
    job_title="VP, Sales",
    industry="Software",
    employees=500,
    annual_revenue=50_000_000,
    country="US",
)


def event(event_id: str, type_: EngagementType, days_ago: float) -> Engagement:
    return Engagement(event_id, type_, NOW - timedelta(days=days_ago))


def fit_points(facts: LeadFacts) -> dict[str, float]:
    return {f.name: f.points for f in score_fit(facts, RULES.fit)}


def score_of(value: int) -> Score:
    return Score(value, value, 0, "A", "cold", (), "test")


# --- fit ---------------------------------------------------------------------------


def test_ideal_lead_earns_every_fit_factor() -> None:
    """A senior sales buyer at a mid-size US software company matches every fit rule."""
    assert fit_points(IDEAL) == {
        "fit.seniority": 15,
        "fit.function": 8,
        "fit.employees": 10,
        "fit.annual_revenue": 4,
        "fit.industry": 8,
        "fit.country": 5,
    }


def test_unknown_facts_earn_no_fit_factor() -> None:
    """A lead with only a business email has no fit factors at all."""
    assert score_fit(LeadFacts(email="bob@acme.io"), RULES.fit) == ()


@pytest.mark.parametrize(
    ("title", "seniority"),
    [
        ("Vice-President of Marketing", 15),
        ("President & CEO", 15),
        ("Sr. Director, Demand Generation", 12),
        ("Marketing Intern", -10),
        ("Internal Communications Manager", 8),
        ("Head of Revenue Operations", 15),
    ],
)
def test_seniority_matches_whole_words_first_rule_wins(title: str, seniority: int) -> None:
    """Titles match keywords as whole words and the first listed rule wins."""
    assert fit_points(LeadFacts(job_title=title))["fit.seniority"] == seniority


def test_function_prefers_the_specific_revenue_operations_rule() -> None:
    """'Sales Operations' is revenue operations, not plain sales."""
    factors = score_fit(LeadFacts(job_title="Sales Operations Analyst"), RULES.fit)
    assert [f.detail for f in factors] == ["job title 'Sales Operations Analyst' is revenue_operations"]


@pytest.mark.parametrize(("employees", "points"), [(1, 0), (10, 0), (11, 3), (200, 6), (201, 10), (5001, 6)])
def test_employee_bands_are_inclusive(employees: int, points: int) -> None:
    """Band bounds are inclusive on both ends and the last band is open-ended."""
    assert fit_points(LeadFacts(employees=employees))["fit.employees"] == points


@pytest.mark.parametrize(
    ("email", "points"),
    [
        ("ann@gmail.com", -10),
        ("ann@GMail.COM", -10),
        ("ann@mailinator.com", -30),
        ("ann@x.mailinator.com", -30),
        ("ann@notgmail.com", None),
        ("no-at-sign", None),
    ],
)
def test_free_and_disposable_mail_score_negative(email: str, points: int | None) -> None:
    """Free-mail and disposable domains (and their subdomains) cost points; others do not."""
    assert fit_points(LeadFacts(email=email)).get("fit.email_domain") == points


def test_country_and_industry_match_case_insensitively() -> None:
    """Lowercase country codes and differently cased industries still match."""
    points = fit_points(LeadFacts(country="gb", industry="FINANCIAL SERVICES"))
    assert points == {"fit.country": 5, "fit.industry": 6}


# --- engagement --------------------------------------------------------------------


def test_points_halve_after_one_half_life() -> None:
    """An event one half-life old earns half its base points and says so."""
    (factor,) = score_engagement([event("e1", "demo_request", 14)], RULES.engagement, NOW)
    assert factor == Factor(
        name="engagement.demo_request",
        points=15.0,
        detail="demo_request 14.0 days old, 50% decayed",
        event_id="e1",
        occurred_at=NOW - timedelta(days=14),
        base_points=30,
        decay=0.5,
    )


def test_future_events_do_not_decay() -> None:
    """An event stamped after `now` (clock skew) earns its full points."""
    (factor,) = score_engagement([event("e1", "form_submit", -2)], RULES.engagement, NOW)
    assert (factor.points, factor.decay) == (10.0, 0.0)


def test_events_beyond_the_horizon_earn_nothing() -> None:
    """Events older than horizon_days get no factor; one just inside still counts."""
    events = [
        event("old", "meeting_booked", 90.01),
        event("edge", "meeting_booked", 90),
    ]
    factors = score_engagement(events, RULES.engagement, NOW)
    assert [f.event_id for f in factors] == ["edge"]
    assert factors[0].points == round(25 * 0.5 ** (90 / 14), 2)


def test_non_decaying_negative_signals_keep_full_weight() -> None:
    """An unsubscribe 60 days ago still costs its full points."""
    (factor,) = score_engagement([event("u", "unsubscribe", 60)], RULES.engagement, NOW)
    assert (factor.points, factor.decay, factor.base_points) == (-15.0, 0.0, -15)


def test_type_cap_adds_one_negative_adjustment() -> None:
    """Fifteen fresh page views earn 15 points, capped to 10 by a -5 cap factor."""
    views = [event(f"v{i}", "page_view", 0) for i in range(15)]
    factors = score_engagement(views, RULES.engagement, NOW)
    assert factors[-1] == Factor("engagement.page_view.cap", -5.0, "page_view capped at 10")
    assert sum_points(factors, "engagement.") == 10


def test_duplicate_event_ids_count_once() -> None:
    """The same event_id given twice earns points once."""
    twice = [event("e1", "demo_request", 0), event("e1", "demo_request", 0)]
    assert len(score_engagement(twice, RULES.engagement, NOW)) == 1


def test_types_without_a_rule_earn_nothing() -> None:
    """An engagement type the rules leave out gets no factor."""
    events = dict(RULES.engagement.events)
    del events["email_open"]
    rules = replace(RULES.engagement, events=events)
    assert score_engagement([event("o", "email_open", 0)], rules, NOW) == ()


# --- score -------------------------------------------------------------------------


def test_ideal_engaged_lead_scores_hot_grade_a() -> None:
    """Fit 50 plus a fresh demo request gives 80, grade A, hot."""
    score = score_lead(IDEAL, [event("d", "demo_request", 0)], RULES, NOW)
    assert (score.score, score.fit_score, score.engagement_score) == (80, 50, 30)
    assert (score.grade, score.temperature, score.rules_version) == (
        "A",
        "hot",
        "2025.1",
    )


def test_score_clamps_at_zero_and_hundred() -> None:
    """Heavy penalties clamp to 0 and heavy engagement clamps to 100."""
    spam = [event(f"s{i}", "spam_complaint", 0) for i in range(3)]
    demos = [event(f"d{i}", "demo_request", 0) for i in range(5)]
    assert score_lead(LeadFacts(email="x@yopmail.com"), spam, RULES, NOW).score == 0
    assert score_lead(IDEAL, demos, RULES, NOW).score == 100


@pytest.mark.parametrize(
    ("fit", "grade"),
    [(40, "A"), (39, "B"), (25, "B"), (24, "C"), (10, "C"), (9, "D"), (-5, "D")],
)
def test_grade_follows_fit_thresholds(fit: int, grade: str) -> None:
    """Grades are minimum fit scores: A>=40, B>=25, C>=10, else D."""
    factors = (Factor("fit.manual", fit, "test"),)
    assert assemble_score(factors, RULES).grade == grade


@pytest.mark.parametrize(("engagement", "temperature"), [(30, "hot"), (29, "warm"), (9, "cold")])
def test_temperature_follows_engagement_thresholds(engagement: int, temperature: str) -> None:
    """Temperatures are minimum engagement scores: hot>=30, warm>=10, else cold."""
    factors = (Factor("engagement.manual", engagement, "test"),)
    assert assemble_score(factors, RULES).temperature == temperature


def test_components_round_half_up() -> None:
    """A component of exactly x.5 rounds up, also for negatives (-2.5 -> -2)."""
    up = (
        Factor("fit.a", 0.25, ""),
        Factor("fit.b", 0.25, ""),
        Factor("engagement.a", -2.5, ""),
    )
    score = assemble_score(up, RULES)
    assert (score.fit_score, score.engagement_score) == (1, -2)


def test_naive_datetimes_are_rejected() -> None:
    """A naive `now` or occurred_at raises instead of silently mis-decaying."""
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        score_lead(IDEAL, [], RULES, datetime(2025, 1, 1))
    with pytest.raises(ValueError, match="occurred_at must be timezone-aware"):
        Engagement("e", "page_view", datetime(2025, 1, 1))


def test_unknown_engagement_type_is_rejected() -> None:
    """An engagement type outside the catalogue raises ValueError."""
    with pytest.raises(ValueError, match="unknown engagement type 'fax'"):
        Engagement("e", "fax", NOW)  # type: ignore[arg-type]


# --- profile -----------------------------------------------------------------------


def test_record_engagement_keeps_newest_in_time_order() -> None:
    """Events are kept sorted by occurred_at and only the newest max_events survive."""
    profile = new_profile("lead-1", IDEAL)
    for event_id, days_ago in [("b", 2), ("a", 3), ("d", 0), ("c", 1)]:
        profile = record_engagement(profile, event(event_id, "page_view", days_ago), max_events=3)
    assert [e.event_id for e in profile.engagements] == ["b", "c", "d"]


def test_record_engagement_ignores_a_redelivered_event_id() -> None:
    """A second event with a known event_id, even with other content, changes nothing."""
    profile = record_engagement(new_profile("l", IDEAL), event("e", "page_view", 1), max_events=5)
    again = record_engagement(profile, event("e", "demo_request", 0), max_events=5)
    assert again == profile


def test_record_engagement_rejects_non_positive_max_events() -> None:
    """max_events below 1 is a programming error."""
    with pytest.raises(ValueError, match="max_events"):
        record_engagement(new_profile("l", IDEAL), event("e", "page_view", 0), max_events=0)


def test_update_facts_merges_known_values() -> None:
    """New known values overwrite; None and blank strings keep what we knew."""
    profile = new_profile("l", IDEAL)
    updated = update_facts(profile, LeadFacts(job_title="CEO", company=" ", employees=None))
    assert updated.facts == replace(IDEAL, job_title="CEO")


def test_decide_emission_emits_score_only_on_change() -> None:
    """The first score and any changed score are emitted; an equal one is not."""
    fresh = new_profile("l", IDEAL)
    scored = replace(fresh, last_score=42)
    assert decide_emission(fresh, score_of(42), 60).emit_scored
    assert not decide_emission(scored, score_of(42), 60).emit_scored
    assert decide_emission(scored, score_of(43), 60).emit_scored


def test_qualification_is_emitted_once_at_threshold() -> None:
    """Reaching the threshold qualifies once; later scores above it never re-qualify."""
    profile = new_profile("l", IDEAL)
    decision = decide_emission(profile, score_of(60), 60)
    assert decision == ScoringDecision(emit_scored=True, emit_qualified=True)
    profile = apply_score(profile, score_of(60), decision)
    assert (profile.last_score, profile.qualified) == (60, True)
    assert not decide_emission(profile, score_of(90), 60).emit_qualified


def test_profile_round_trips_through_a_plain_dict() -> None:
    """profile_from_dict(profile_to_dict(p)) == p, with datetimes as UTC ISO strings."""
    plus_two = timezone(timedelta(hours=2))
    engagement = Engagement("e1", "email_click", datetime(2025, 1, 1, 14, 0, 0, 7, plus_two))
    profile = LeadProfile("l", IDEAL, (engagement,), last_score=61, qualified=True)
    data = profile_to_dict(profile)
    assert data["engagements"][0]["occurred_at"] == "2025-01-01T12:00:00.000007+00:00"
    assert profile_from_dict(data) == profile


# --- properties --------------------------------------------------------------------

TITLES = [
    "VP Sales",
    "CEO",
    "Marketing Manager",
    "Student",
    "Sr Engineer",
    "Janitor",
    "",
]
EMAILS = ["a@acme.io", "a@gmail.com", "a@mailinator.com", "bad", None]

facts_strategy = st.builds(
    LeadFacts,
    email=st.sampled_from(EMAILS),
    job_title=st.one_of(st.none(), st.sampled_from(TITLES), st.text(max_size=30)),
    industry=st.one_of(st.none(), st.sampled_from(["software", "Education", "Mining"])),
    employees=st.one_of(st.none(), st.integers(0, 200_000)),
    annual_revenue=st.one_of(st.none(), st.integers(0, 10**10)),
    country=st.one_of(st.none(), st.sampled_from(["US", "no", "BR", "de"])),
)
types_strategy = st.sampled_from(sorted(ENGAGEMENT_TYPES))
offsets = st.integers(-5 * 86_400, 120 * 86_400).map(lambda s: timedelta(seconds=s))
engagement_strategy = st.builds(
    Engagement,
    event_id=st.text("abcdef", min_size=1, max_size=2),
    type=types_strategy,
    occurred_at=offsets.map(lambda offset: NOW - offset),
)
engagements_strategy = st.lists(engagement_strategy, max_size=40)


@PROPERTY
@given(facts_strategy, engagements_strategy)
def test_score_is_clamped_sum_of_components(facts: LeadFacts, engagements: list[Engagement]) -> None:
    """The score is always clamp(fit + engagement) within 0..100."""
    score = score_lead(facts, engagements, RULES, NOW)
    assert 0 <= score.score <= 100
    assert score.score == max(0, min(100, score.fit_score + score.engagement_score))


@PROPERTY
@given(facts_strategy, engagements_strategy)
def test_factor_points_explain_the_unclamped_total(facts: LeadFacts, engagements: list[Engagement]) -> None:
    """Each component is its factors' sum rounded half up, so the total is within 1 point."""
    score = score_lead(facts, engagements, RULES, NOW)
    fit_sum = sum(f.points for f in score.factors if f.name.startswith("fit."))
    engagement_sum = sum(f.points for f in score.factors if f.name.startswith("engagement."))
    assert abs(fit_sum - score.fit_score) <= 0.5 + 1e-9
    assert abs(engagement_sum - score.engagement_score) <= 0.5 + 1e-9
    assert abs(fit_sum + engagement_sum - (score.fit_score + score.engagement_score)) <= 1
    assert all(round(f.points, 2) == f.points for f in score.factors)


@PROPERTY
@given(facts_strategy, engagements_strategy)
def test_score_rebuilds_from_its_factors(facts: LeadFacts, engagements: list[Engagement]) -> None:
    """assemble_score over a score's own factors gives back the same score."""
    score = score_lead(facts, engagements, RULES, NOW)
    assert assemble_score(score.factors, RULES) == score


@PROPERTY
@given(types_strategy, offsets, offsets)
def test_older_events_never_earn_more(type_: EngagementType, first: timedelta, second: timedelta) -> None:
    """Of two events of one type, the older never earns more points (in magnitude)."""
    newer, older = sorted((first, second))

    def earned(age: timedelta) -> float:
        factors = score_engagement([Engagement("e", type_, NOW - age)], RULES.engagement, NOW)
        return abs(sum(f.points for f in factors))

    assert earned(older) <= earned(newer)


@PROPERTY
@given(st.floats(0, 1000), st.floats(0, 1000), st.floats(0.1, 100))
def test_decay_multiplier_is_monotone_and_bounded(a: float, b: float, half_life: float) -> None:
    """The decay multiplier stays in [0, 1] and never grows with age."""
    young, old = sorted((a, b))
    assert 0.0 <= decay_multiplier(old, half_life) <= decay_multiplier(young, half_life) <= 1.0


@PROPERTY
@given(st.lists(st.integers(0, 100), max_size=30), st.integers(1, 100))
def test_qualification_is_emitted_at_most_once(scores: list[int], threshold: int) -> None:
    """However scores rise and fall, 'qualified' is emitted once iff one reaches the threshold."""
    profile, qualified, last = new_profile("l", LeadFacts()), 0, None
    for value in scores:
        decision = decide_emission(profile, score_of(value), threshold)
        profile = apply_score(profile, score_of(value), decision)
        qualified += decision.emit_qualified
        assert decision.emit_scored == (value != last)
        last = value
    assert qualified == (1 if any(v >= threshold for v in scores) else 0)
    assert profile.qualified == (qualified == 1)


@PROPERTY
@given(engagements_strategy, st.integers(1, 10))
def test_record_engagement_is_idempotent_sorted_and_bounded(engagements: list[Engagement], max_events: int) -> None:
    """Recording every event twice equals recording it once; the result is sorted and bounded."""
    once = twice = new_profile("l", LeadFacts())
    for e in engagements:
        once = record_engagement(once, e, max_events=max_events)
        twice = record_engagement(twice, e, max_events=max_events)
        twice = record_engagement(twice, e, max_events=max_events)
    keys = [(e.occurred_at, e.event_id) for e in once.engagements]
    assert once == twice
    assert keys == sorted(keys) and len(keys) <= max_events
    assert len({e.event_id for e in once.engagements}) == len(keys)


@PROPERTY
@given(
    facts_strategy,
    engagements_strategy,
    st.one_of(st.none(), st.integers(0, 100)),
    st.booleans(),
)
def test_profile_dict_round_trip_is_exact(
    facts: LeadFacts,
    engagements: list[Engagement],
    last_score: int | None,
    qualified: bool,
) -> None:
    """Any profile survives profile_to_dict then profile_from_dict unchanged."""
    profile = LeadProfile("lead", facts, tuple(engagements), last_score, qualified)
    assert profile_from_dict(profile_to_dict(profile)) == profile
