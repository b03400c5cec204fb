"""Scoring rules: load and validate the YAML rules file into frozen dataclasses.

Every problem raises RulesError naming the offending key path; nothing here scores a lead.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import yaml

from services.scoring.model import ENGAGEMENT_TYPES

_SECTIONS = frozenset(("version", "qualification", "grades", "temperature", "fit", "engagement"))
_FIT_KEYS = frozenset(
    ("seniority", "function", "employees", "annual_revenue", "industries", "countries", "free_mail", "disposable_mail")
)


class RulesError(ValueError):
    """The scoring rules are invalid; the message starts with the offending key path."""


@dataclass(frozen=True)
class KeywordRule:
    """Job-title rule: matches when any keyword appears as whole words in the title."""

    name: str
    points: int
    keywords: tuple[str, ...]


@dataclass(frozen=True)
class Band:
    """Inclusive numeric range; max None means open-ended."""

    min: int
    max: int | None
    points: int


@dataclass(frozen=True)
class DomainRule:
    """Email domains (and their subdomains) that earn `points`."""

    points: int
    domains: frozenset[str]


@dataclass(frozen=True)
class FitRules:
    """Who the lead is. Lists are ordered: the first matching rule or band wins."""

    seniority: tuple[KeywordRule, ...]
    function: tuple[KeywordRule, ...]
    employees: tuple[Band, ...]
    annual_revenue: tuple[Band, ...]
    industries: Mapping[str, int]  # keys normalised like titles (lowercase words)
    countries: Mapping[str, int]  # ISO alpha-2, upper case
    free_mail: DomainRule
    disposable_mail: DomainRule


@dataclass(frozen=True)
class EventRule:
    """Points for one engagement type; max_points caps the type's total contribution."""

    points: int
    decays: bool
    max_points: int | None


@dataclass(frozen=True)
class EngagementRules:
    """What the lead did: points halve every half_life_days; older than horizon_days count 0."""

    half_life_days: float
    horizon_days: float
    events: Mapping[str, EventRule]


@dataclass(frozen=True)
class ScoringRules:
    """The whole rule set. Grades are minimum fit scores, temperatures minimum engagement."""

    version: str
    mql_threshold: int
    grade_a: int
    grade_b: int
    grade_c: int
    hot: int
    warm: int
    fit: FitRules
    engagement: EngagementRules


def default_rules_path() -> Path:
    """The rules shipped with the service."""
    return Path(__file__).with_name("scoring_rules.yaml")


def load_rules(source: str | os.PathLike[str]) -> ScoringRules:
    """Load rules from a path, or from YAML text when given a str that is not a .yaml/.yml path."""
    data = _parse_yaml(_read_source(source))
    root = _mapping(data, "<root>", _SECTIONS)
    grades = _mapping(root["grades"], "grades", {"A", "B", "C"})
    temps = _mapping(root["temperature"], "temperature", {"hot", "warm"})
    qualification = _mapping(root["qualification"], "qualification", {"mql_threshold"})
    _descending(grades, ("A", "B", "C"), "grades")
    _descending(temps, ("hot", "warm"), "temperature")
    return ScoringRules(
        version=_str(root["version"], "version"),
        mql_threshold=_int(qualification["mql_threshold"], "qualification.mql_threshold", 0, 100),
        grade_a=_int(grades["A"], "grades.A"),
        grade_b=_int(grades["B"], "grades.B"),
        grade_c=_int(grades["C"], "grades.C"),
        hot=_int(temps["hot"], "temperature.hot"),
        warm=_int(temps["warm"], "temperature.warm"),
        fit=_fit(root["fit"]),
        engagement=_engagement(root["engagement"]),
    )


def normalise_words(text: str) -> str:
    """Lowercase, punctuation to spaces, single-spaced: 'VP, Sales' -> 'vp sales'."""
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text.lower()).split())


def _read_source(source: str | os.PathLike[str]) -> str:
    is_path = not isinstance(source, str) or ("\n" not in source and source.strip().endswith((".yaml", ".yml")))
    if not is_path:
        return str(source)
    try:
        return Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise RulesError(f"<file>: cannot read {os.fspath(source)!r}: {exc}") from exc


def _parse_yaml(text: str) -> object:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RulesError(f"<root>: invalid YAML: {exc}") from exc


def _fit(node: object) -> FitRules:
    fit = _mapping(node, "fit", _FIT_KEYS)
    return FitRules(
        seniority=_keyword_rules(fit["seniority"], "fit.seniority"),
        function=_keyword_rules(fit["function"], "fit.function"),
        employees=_bands(fit["employees"], "fit.employees"),
        annual_revenue=_bands(fit["annual_revenue"], "fit.annual_revenue"),
        industries=_points_map(fit["industries"], "fit.industries", normalise_words),
        countries=_countries(fit["countries"]),
        free_mail=_domain_rule(fit["free_mail"], "fit.free_mail"),
        disposable_mail=_domain_rule(fit["disposable_mail"], "fit.disposable_mail"),
    )


def _engagement(node: object) -> EngagementRules:
    eng = _mapping(node, "engagement", {"half_life_days", "horizon_days", "events"})
    events = _mapping(eng["events"], "engagement.events", optional=ENGAGEMENT_TYPES)
    return EngagementRules(
        half_life_days=_positive(eng["half_life_days"], "engagement.half_life_days"),
        horizon_days=_positive(eng["horizon_days"], "engagement.horizon_days"),
        events=MappingProxyType(
            {name: _event_rule(rule, f"engagement.events.{name}") for name, rule in events.items()}
        ),
    )


def _event_rule(node: object, path: str) -> EventRule:
    rule = _mapping(node, path, {"points"}, optional={"decays", "max_points"})
    decays = rule.get("decays", True)
    if not isinstance(decays, bool):
        raise RulesError(f"{path}.decays: expected true or false, got {decays!r}")
    cap = rule.get("max_points")
    return EventRule(
        points=_int(rule["points"], f"{path}.points"),
        decays=decays,
        max_points=None if cap is None else _int(cap, f"{path}.max_points", 1),
    )


def _keyword_rules(node: object, path: str) -> tuple[KeywordRule, ...]:
    rules = []
    for i, item in enumerate(_list(node, path)):
        where = f"{path}[{i}]"
        rule = _mapping(item, where, {"name", "points", "keywords"})
        raw_keywords = _str_list(rule["keywords"], f"{where}.keywords")
        keywords = tuple(normalise_words(k) for k in raw_keywords)
        if not all(keywords):
            raise RulesError(f"{where}.keywords: a keyword has no letters or digits")
        name = _str(rule["name"], f"{where}.name")
        rules.append(KeywordRule(name, _int(rule["points"], f"{where}.points"), keywords))
    return tuple(rules)


def _bands(node: object, path: str) -> tuple[Band, ...]:
    bands: list[Band] = []
    for i, item in enumerate(_list(node, path)):
        where = f"{path}[{i}]"
        raw = _mapping(item, where, {"min", "points"}, optional={"max"})
        high = raw.get("max")
        band = Band(
            min=_int(raw["min"], f"{where}.min", 0),
            max=None if high is None else _int(high, f"{where}.max"),
            points=_int(raw["points"], f"{where}.points"),
        )
        if band.max is not None and band.max < band.min:
            raise RulesError(f"{where}.max: {band.max} is below min {band.min}")
        if bands and (bands[-1].max is None or band.min <= bands[-1].max):
            raise RulesError(f"{where}.min: bands must be ascending and must not overlap")
        bands.append(band)
    return tuple(bands)


def _countries(node: object) -> Mapping[str, int]:
    countries = _points_map(node, "fit.countries", str.strip)
    for code in countries:
        if not re.fullmatch(r"[A-Z]{2}", code):
            raise RulesError(f"fit.countries.{code}: expected an upper-case ISO alpha-2 code")
    return countries


def _domain_rule(node: object, path: str) -> DomainRule:
    rule = _mapping(node, path, {"points", "domains"})
    domains = frozenset(d.strip().lower() for d in _str_list(rule["domains"], f"{path}.domains"))
    return DomainRule(_int(rule["points"], f"{path}.points"), domains)


def _points_map(node: object, path: str, normalise: Callable[[str], str]) -> Mapping[str, int]:
    raw = _mapping(node, path, optional=None)
    return MappingProxyType({normalise(k): _int(v, f"{path}.{k}") for k, v in raw.items()})


def _mapping(
    node: object,
    path: str,
    required: AbstractSet[str] = frozenset(),
    optional: AbstractSet[str] | None = frozenset(),
) -> Mapping[str, object]:
    """A mapping with all required keys and no others but optional ones (None: any key)."""
    if not isinstance(node, dict):
        raise RulesError(f"{path}: expected a mapping, got {node!r}")
    for key in node:
        if not isinstance(key, str):
            # YAML 1.1 reads bare NO, yes, on, 1 as non-strings: the Norway problem.
            raise RulesError(f"{path}.{key}: key must be a string, quote it")
    missing = sorted(required - node.keys())
    if missing:
        raise RulesError(f"{path}.{missing[0]}: missing")
    unknown = [] if optional is None else sorted(node.keys() - required - optional)
    if unknown:
        raise RulesError(f"{path}.{unknown[0]}: unknown key")
    return node


def _list(node: object, path: str) -> list[object]:
    if not isinstance(node, list):
        raise RulesError(f"{path}: expected a list, got {type(node).__name__}")
    return node


def _str_list(node: object, path: str) -> tuple[str, ...]:
    items = _list(node, path)
    if not items:
        raise RulesError(f"{path}: must not be empty")
    return tuple(_str(item, f"{path}[{i}]") for i, item in enumerate(items))


def _str(node: object, path: str) -> str:
    if not isinstance(node, str) or not node.strip():
        raise RulesError(f"{path}: expected a non-empty string, got {node!r}")
    return node


def _int(node: object, path: str, low: int | None = None, high: int | None = None) -> int:
    # bool is an int subclass; `points: yes` is a typo, not 1 point.
    if not isinstance(node, int) or isinstance(node, bool):
        raise RulesError(f"{path}: expected an integer, got {node!r}")
    if (low is not None and node < low) or (high is not None and node > high):
        raise RulesError(f"{path}: {node} is outside [{low}, {high}]")
    return node


def _positive(node: object, path: str) -> float:
    if not isinstance(node, int | float) or isinstance(node, bool) or not node > 0:
        raise RulesError(f"{path}: expected a positive number, got {node!r}")
    return float(node)


def _descending(node: Mapping[str, object], keys: tuple[str, ...], path: str) -> None:
    values = [_int(node[k], f"{path}.{k}") for k in keys]
    for i in range(1, len(keys)):
        if values[i] >= values[i - 1]:
            raise RulesError(f"{path}.{keys[i]}: must be below {path}.{keys[i - 1]}")
