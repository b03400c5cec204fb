"""Tests for loading and validating the scoring rules file."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.scoring.rules import (
    Band,
    EventRule,
    RulesError,
    default_rules_path,
    load_rules,
)

Edit = Callable[[dict[str, Any]], None]


def default_data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(default_rules_path().read_text(encoding="utf-8"))
    return copy.deepcopy(data)


def load_edited(edit: Edit) -> None:
    data = default_data()
    edit(data)
    load_rules(yaml.safe_dump(data))


def test_default_rules_load_with_expected_settings() -> None:
    """The shipped rules load and carry the documented defaults."""
    rules = load_rules(default_rules_path())
    assert rules.mql_threshold == 60
    assert rules.engagement.half_life_days == 14.0
    assert rules.engagement.horizon_days == 90.0
    assert rules.grade_a > rules.grade_b > rules.grade_c
    assert rules.engagement.events["unsubscribe"] == EventRule(-15, False, None)
    assert rules.fit.employees[-1] == Band(5001, None, 6)


def test_default_rules_keep_norway_as_a_country() -> None:
    """The quoted "NO" key stays Norway instead of YAML's boolean false."""
    assert load_rules(default_rules_path()).fit.countries["NO"] == 3


def test_negative_signals_in_default_rules_score_negative() -> None:
    """Unsubscribe, bounce, spam complaint, free and disposable mail all cost points."""
    rules = load_rules(default_rules_path())
    events = rules.engagement.events
    negative = ("unsubscribe", "email_bounce", "spam_complaint")
    assert all(events[t].points < 0 for t in negative)
    assert rules.fit.free_mail.points < 0
    assert rules.fit.disposable_mail.points < rules.fit.free_mail.points


def test_load_rules_accepts_text_path_and_str_path(tmp_path: Path) -> None:
    """The same rules load from YAML text, a Path and a str path."""
    text = default_rules_path().read_text(encoding="utf-8")
    target = tmp_path / "rules.yml"
    target.write_text(text, encoding="utf-8")
    from_text = load_rules(text)
    assert load_rules(target) == from_text
    assert load_rules(str(target)) == from_text


def test_missing_file_raises_rules_error(tmp_path: Path) -> None:
    """A path that cannot be read is a RulesError, not an OSError."""
    with pytest.raises(RulesError, match="cannot read"):
        load_rules(tmp_path / "absent.yaml")


def test_invalid_yaml_raises_rules_error() -> None:
    """Text that is not YAML is reported as such."""
    with pytest.raises(RulesError, match="invalid YAML"):
        load_rules("fit: [unclosed")


def test_top_level_must_be_a_mapping() -> None:
    """A YAML scalar is not a rule set."""
    with pytest.raises(RulesError, match=r"^<root>: expected a mapping"):
        load_rules("just text")


def test_industry_keys_are_normalised() -> None:
    """Industry keys are matched case- and punctuation-insensitively."""
    data = default_data()
    data["fit"]["industries"] = {"Financial-Services": 7}
    rules = load_rules(yaml.safe_dump(data))
    assert dict(rules.fit.industries) == {"financial services": 7}


def _set(path: tuple[str | int, ...], value: object) -> Edit:
    def edit(data: dict[str, Any]) -> None:
        node: Any = data
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return edit


def _delete(path: tuple[str | int, ...]) -> Edit:
    def edit(data: dict[str, Any]) -> None:
        node: Any = data
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return edit


def _bare_norway(data: dict[str, Any]) -> None:
    data["fit"]["countries"][False] = 3


BAD_RULES: list[tuple[Edit, str]] = [
    (_delete(("version",)), r"^<root>\.version: missing"),
    (_set(("surprise",), 1), r"^<root>\.surprise: unknown key"),
    (
        _delete(("engagement", "half_life_days")),
        r"^engagement\.half_life_days: missing",
    ),
    (
        _set(("engagement", "half_life_days"), 0),
        r"^engagement\.half_life_days: expected a positive",
    ),
    (
        _set(("engagement", "horizon_days"), "long"),
        r"^engagement\.horizon_days: expected a positive",
    ),
    (
        _set(("engagement", "events", "fax_sent"), {"points": 1}),
        r"^engagement\.events\.fax_sent: unknown key",
    ),
    (
        _set(("engagement", "events", "page_view", "points"), 1.5),
        r"^engagement\.events\.page_view\.points: expected an integer",
    ),
    (
        _set(("engagement", "events", "page_view", "points"), True),
        r"^engagement\.events\.page_view\.points: expected an integer",
    ),
    (
        _set(("engagement", "events", "page_view", "decays"), "no"),
        r"^engagement\.events\.page_view\.decays: expected true or false",
    ),
    (
        _set(("engagement", "events", "page_view", "max_points"), 0),
        r"^engagement\.events\.page_view\.max_points: 0 is outside",
    ),
    (
        _set(("engagement", "events", "page_view", "weight"), 2),
        r"^engagement\.events\.page_view\.weight: unknown key",
    ),
    (
        _set(("qualification", "mql_threshold"), 101),
        r"^qualification\.mql_threshold: 101 is outside",
    ),
    (_set(("grades", "B"), 50), r"^grades\.B: must be below grades\.A"),
    (
        _set(("temperature", "warm"), 30),
        r"^temperature\.warm: must be below temperature\.hot",
    ),
    (
        _set(("fit", "countries", "usa"), 5),
        r"^fit\.countries\.usa: expected an upper-case ISO alpha-2",
    ),
    (_bare_norway, r"^fit\.countries\.False: key must be a string"),
    (_set(("fit", "seniority"), {"vp": 10}), r"^fit\.seniority: expected a list"),
    (
        _set(("fit", "seniority", 1, "keywords"), []),
        r"^fit\.seniority\[1\]\.keywords: must not be empty",
    ),
    (
        _set(("fit", "seniority", 1, "keywords"), ["--"]),
        r"^fit\.seniority\[1\]\.keywords: a keyword has no letters",
    ),
    (_delete(("fit", "function", 0, "name")), r"^fit\.function\[0\]\.name: missing"),
    (
        _set(("fit", "employees", 1, "max"), 5),
        r"^fit\.employees\[1\]\.max: 5 is below min 11",
    ),
    (
        _set(("fit", "employees", 1, "min"), 10),
        r"^fit\.employees\[1\]\.min: bands must be ascending",
    ),
    (
        _set(("fit", "employees", 0, "min"), -1),
        r"^fit\.employees\[0\]\.min: -1 is outside",
    ),
    (
        _set(("fit", "free_mail", "domains"), "gmail.com"),
        r"^fit\.free_mail\.domains: expected a list",
    ),
    (
        _set(("fit", "industries", "software"), "high"),
        r"^fit\.industries\.software: expected an integer",
    ),
]


@pytest.mark.parametrize(("edit", "message"), BAD_RULES)
def test_invalid_rules_name_the_bad_key(edit: Edit, message: str) -> None:
    """Every invalid rule set raises RulesError starting with the offending key path."""
    with pytest.raises(RulesError, match=message):
        load_edited(edit)


def test_event_types_may_be_omitted() -> None:
    """An engagement type left out of the rules simply has no rule."""
    data = default_data()
    del data["engagement"]["events"]["email_open"]
    rules = load_rules(yaml.safe_dump(data))
    assert "email_open" not in rules.engagement.events
