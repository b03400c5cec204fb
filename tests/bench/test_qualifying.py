from bench.qualifying import cause_of_score, qualifying_cause

SENT = {"lead-event": 1_000.0, "click": 4_000.0, "demo": 6_000.0, "late": 9_000.0}


def test_a_score_names_its_cause() -> None:
    assert cause_of_score("lead_1:scored:demo") == "demo"
    assert cause_of_score("lead_1:qualified") is None


def test_the_last_score_before_the_qualification_is_its_cause() -> None:
    scores = [(1_010, "lead-event"), (4_010, "click"), (6_010, "demo"), (9_010, "late")]
    assert qualifying_cause(scores, 6_011, SENT) == "demo"
    assert qualifying_cause(scores, 1_010, SENT) == "lead-event"


def test_scores_in_one_millisecond_take_the_earliest_sent() -> None:
    scores = [(6_010, "demo"), (6_010, "click")]
    assert qualifying_cause(scores, 6_010, SENT) == "click"


def test_no_earlier_score_or_unknown_cause_is_none() -> None:
    assert qualifying_cause([(6_010, "demo")], 6_000, SENT) is None
    assert qualifying_cause([(6_010, "unsent")], 7_000, SENT) is None
