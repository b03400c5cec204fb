"""Per-step A/B stats: counts and rates per variant, and the two-proportion verdict per metric."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from services.nurture.sequences import load_shipped
from services.nurture.stats import counter_field, step_stats

SEQUENCES = load_shipped()
REP = SEQUENCES["mql-follow-up"]  # intro has variants question and meeting


def counts(**numbers: int) -> dict[str, int]:
    """Counts of the intro step, as `<variant>_<metric>=n`."""
    return {counter_field("intro", *name.split("_", 1)): n for name, n in numbers.items()}


def test_counts_and_rates_per_variant() -> None:
    """Each variant shows its sends, opens, clicks and replies, and rates over its sends."""
    intro = step_stats(REP, counts(question_sends=10, question_opens=4, meeting_sends=0))[0]
    question, meeting = intro["variants"]
    assert question == {
        "variant": "question",
        "sends": 10,
        "opens": 4,
        "clicks": 0,
        "replies": 0,
        "opens_rate": 0.4,
        "clicks_rate": 0.0,
        "replies_rate": 0.0,
    }
    assert meeting["sends"] == 0 and meeting["opens_rate"] == 0.0


def test_a_clear_difference_is_significant_and_a_small_one_is_not() -> None:
    """400/1000 against 300/1000 replies is significant at 5 %; 31/100 against 30/100 is not."""
    clear = step_stats(REP, counts(question_sends=1000, question_replies=400, meeting_sends=1000, meeting_replies=300))
    replies = next(t for t in clear[0]["ab_tests"] if t["metric"] == "replies")
    assert replies["control"] == "question" and replies["variant"] == "meeting"
    assert replies["significant"] and replies["z"] > 0
    close = step_stats(REP, counts(question_sends=100, question_replies=31, meeting_sends=100, meeting_replies=30))
    assert not next(t for t in close[0]["ab_tests"] if t["metric"] == "replies")["significant"]


def test_steps_with_one_variant_or_tasks_have_no_test() -> None:
    """Only an email step with two or more variants is tested; every step is listed."""
    stats = step_stats(REP, {})
    assert [s["step_id"] for s in stats] == [step.step_id for step in REP.steps]
    assert len(stats[0]["ab_tests"]) == 3
    assert all(s["ab_tests"] == [] for s in stats[1:])


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(["sends", "opens", "clicks", "replies"]), st.integers(0, 10_000)))
def test_any_counts_give_a_verdict(numbers: dict[str, int]) -> None:
    """Counts that disagree (more opens than sends after a crash) still give p-values in [0, 1]."""
    raw = {counter_field("intro", variant, metric): n for metric, n in numbers.items() for variant in ("question",)}
    for test in step_stats(REP, raw)[0]["ab_tests"]:
        assert 0.0 <= test["p_value"] <= 1.0
