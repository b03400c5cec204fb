"""The routing policy (regions, size segments, SLAs by grade, ordered rules) from YAML.

Parsing and validation only: no clock, no environment; a file is read only if named.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Literal, cast, get_args

import yaml

RepCheck = Literal["territory", "product", "segment"]
REP_CHECKS: frozenset[RepCheck] = frozenset(get_args(RepCheck))
# Names the router writes into assignments itself; a rule may not take them.
RESERVED_RULE_NAMES = frozenset({"account_owner", "no_matching_rule"})
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


class PolicyError(ValueError):
    """The policy document is malformed; the message names the offending field."""


@dataclass(frozen=True)
class Segment:
    """A company-size band: `max_employees` inclusive; None for the open top band."""

    name: str
    max_employees: int | None


@dataclass(frozen=True)
class RoutingRule:
    """Lead conditions (empty matches anything) and what pool reps must cover."""

    name: str
    territories: frozenset[str] = frozenset()
    products: frozenset[str] = frozenset()
    segments: frozenset[str] = frozenset()
    grades: frozenset[str] = frozenset()
    rep_must_match: frozenset[RepCheck] = REP_CHECKS


@dataclass(frozen=True)
class RoutingPolicy:
    """Rules are tried in order; the first whose conditions all hold picks the pool."""

    rules: tuple[RoutingRule, ...]
    regions: Mapping[str, frozenset[str]]
    segments: tuple[Segment, ...]
    unknown_segment: str
    products: frozenset[str]
    sla_by_grade: Mapping[str, timedelta]
    default_sla: timedelta
    fallback_queue: str
    free_mail_domains: frozenset[str]

    def region_of(self, country: str) -> str | None:
        """The region listing `country` (ISO 3166 alpha-2, any case), or None."""
        code = country.strip().upper()
        return next((name for name, codes in self.regions.items() if code in codes), None)

    def segment_of(self, employees: int | None) -> str:
        """The smallest band holding `employees`; None gets `unknown_segment`."""
        if employees is None:
            return self.unknown_segment
        fits = (s for s in self.segments if s.max_employees is None or employees <= s.max_employees)
        return next(fits, self.segments[-1]).name

    def sla_for(self, grade: str | None) -> timedelta:
        """The response window for `grade`; unlisted or None gets `default_sla`."""
        return self.sla_by_grade.get((grade or "").strip().upper(), self.default_sla)


def load_policy(source: str | Path) -> RoutingPolicy:
    """Parse a policy from YAML text or a file (see `read_yaml`); raises PolicyError."""
    return parse_policy(read_yaml(source, PolicyError))


def parse_policy(data: object) -> RoutingPolicy:
    """Validate a decoded policy document; PolicyError names the offending field."""
    doc = _mapping(data, "policy")
    _reject_unknown(doc, _POLICY_KEYS, "policy")
    regions = _parse_regions(doc.get("regions"))
    segments = _parse_segments(doc.get("segments"))
    sla_by_grade, default_sla = _parse_sla(doc.get("sla"))
    products = frozenset(p.lower() for p in _strings(doc.get("products", []), "products"))
    known = _Known(
        frozenset(regions),
        frozenset(s.name for s in segments),
        products,
        frozenset(sla_by_grade),
    )
    return RoutingPolicy(
        rules=_parse_rules(doc.get("rules"), known),
        regions=regions,
        segments=segments,
        unknown_segment=_unknown_segment(doc.get("unknown_segment"), segments),
        products=products,
        sla_by_grade=sla_by_grade,
        default_sla=default_sla,
        fallback_queue=_text(doc.get("fallback_queue"), "fallback_queue"),
        free_mail_domains=frozenset(d.lower() for d in _strings(doc.get("free_mail_domains", []), "free_mail_domains")),
    )


def parse_duration(value: object, where: str) -> timedelta:
    """Parse '15m', '1h', '4h', '2d' or '30s' into a positive timedelta."""
    match = _DURATION.match(value) if isinstance(value, str) else None
    if match is None or int(match[1]) == 0:
        raise PolicyError(f"{where}: expected a positive duration like 15m, 1h or 2d, got {value!r}")
    return timedelta(**{_UNITS[match[2]]: int(match[1])})


def read_yaml(source: str | Path, error: type[ValueError]) -> object:
    """YAML from a Path, a one-line str ending .yaml/.yml, or text; fails as `error`."""
    is_path = isinstance(source, Path) or ("\n" not in source and source.endswith((".yaml", ".yml")))
    try:
        text = Path(source).read_text(encoding="utf-8") if is_path else str(source)
        return cast(object, yaml.safe_load(text))
    except (OSError, yaml.YAMLError) as exc:
        raise error(f"cannot load {source!s:.80}: {exc}") from exc


@dataclass(frozen=True)
class _Known:
    """Names rules may use, so a typo fails at load time instead of never matching."""

    regions: frozenset[str]
    segments: frozenset[str]
    products: frozenset[str]
    grades: frozenset[str]


_POLICY_KEYS = frozenset(
    {
        "rules",
        "regions",
        "segments",
        "unknown_segment",
        "products",
        "sla",
        "fallback_queue",
        "free_mail_domains",
    }
)
_RULE_KEYS = frozenset({"name", "territories", "products", "segments", "grades", "rep_must_match"})
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_SUBDIVISION = re.compile(r"^[A-Z]{2}-[A-Z0-9]{1,3}$")


def _parse_regions(value: object) -> Mapping[str, frozenset[str]]:
    regions = {
        name.upper(): frozenset(_country(c, f"regions.{name}") for c in _strings(codes, f"regions.{name}"))
        for name, codes in _mapping(value, "regions").items()
    }
    if not regions:
        raise PolicyError("regions: at least one region is required")
    listed = [code for codes in regions.values() for code in codes]
    _unique(listed, "regions (a country may sit in one region only)")
    return MappingProxyType(regions)


def _parse_segments(value: object) -> tuple[Segment, ...]:
    items = _list(value, "segments")
    segments = tuple(_parse_segment(item, f"segments[{i}]") for i, item in enumerate(items))
    ceilings = [s.max_employees for s in segments]
    if not segments or ceilings[-1] is not None or None in ceilings[:-1]:
        raise PolicyError("segments: list bands by ascending max_employees; only the last has none")
    if ceilings[:-1] != sorted(set(cast(list[int], ceilings[:-1]))):
        raise PolicyError("segments: max_employees must strictly increase")
    _unique([s.name for s in segments], "segments")
    return segments


def _parse_segment(value: object, where: str) -> Segment:
    item = _mapping(value, where)
    _reject_unknown(item, frozenset({"name", "max_employees"}), where)
    ceiling = item.get("max_employees")
    if ceiling is not None and (not isinstance(ceiling, int) or isinstance(ceiling, bool) or ceiling < 0):
        raise PolicyError(f"{where}.max_employees: expected a non-negative integer, got {ceiling!r}")
    return Segment(_text(item.get("name"), f"{where}.name").lower(), ceiling)


def _parse_sla(value: object) -> tuple[Mapping[str, timedelta], timedelta]:
    sla = _mapping(value, "sla")
    _reject_unknown(sla, frozenset({"by_grade", "default"}), "sla")
    by_grade = {
        str(grade).upper(): parse_duration(window, f"sla.by_grade.{grade}")
        for grade, window in _mapping(sla.get("by_grade"), "sla.by_grade").items()
    }
    return MappingProxyType(by_grade), parse_duration(sla.get("default"), "sla.default")


def _parse_rules(value: object, known: _Known) -> tuple[RoutingRule, ...]:
    rules = tuple(_parse_rule(item, f"rules[{i}]", known) for i, item in enumerate(_list(value, "rules")))
    if not rules:
        raise PolicyError("rules: at least one rule is required")
    _unique([r.name for r in rules], "rules")
    # First match wins, so anything after a rule without conditions is dead policy.
    if shadowing := [r.name for r in rules[:-1] if not _has_conditions(r)]:
        raise PolicyError(f"rules: {shadowing[0]!r} matches every lead; make it last")
    return rules


def _has_conditions(rule: RoutingRule) -> bool:
    return bool(rule.territories or rule.products or rule.segments or rule.grades)


def _parse_rule(value: object, where: str, known: _Known) -> RoutingRule:
    item = _mapping(value, where)
    _reject_unknown(item, _RULE_KEYS, where)
    name = _text(item.get("name"), f"{where}.name")
    if name in RESERVED_RULE_NAMES:
        raise PolicyError(f"{where}.name: {name!r} is reserved")
    checks = _subset(
        item.get("rep_must_match", sorted(REP_CHECKS)),
        REP_CHECKS,
        f"{where}.rep_must_match",
        str.lower,
    )
    return RoutingRule(
        name=name,
        territories=frozenset(
            _territory(t, f"{where}.territories", known)
            for t in _strings(item.get("territories", []), f"{where}.territories")
        ),
        products=_subset(item.get("products", []), known.products, f"{where}.products", str.lower),
        segments=_subset(item.get("segments", []), known.segments, f"{where}.segments", str.lower),
        grades=_subset(item.get("grades", []), known.grades, f"{where}.grades", str.upper),
        rep_must_match=cast(frozenset[RepCheck], checks),
    )


def _unknown_segment(value: object, segments: Sequence[Segment]) -> str:
    if value is None:
        return segments[0].name
    name = _text(value, "unknown_segment").lower()
    if name not in {s.name for s in segments}:
        raise PolicyError(f"unknown_segment: {name!r} is not a declared segment")
    return name


def _territory(value: str, where: str, known: _Known) -> str:
    code = value.strip().upper()
    if code in known.regions or _COUNTRY.match(code) or _SUBDIVISION.match(code):
        return code
    raise PolicyError(f"{where}: {value!r} is not a declared region, country (DE) or subdivision (US-CA)")


def _country(value: str, where: str) -> str:
    code = value.strip().upper()
    if not _COUNTRY.match(code):
        raise PolicyError(f"{where}: {value!r} is not a two-letter country code")
    return code


def _subset(value: object, allowed: frozenset[str], where: str, norm: Callable[[str], str]) -> frozenset[str]:
    items = frozenset(norm(s.strip()) for s in _strings(value, where))
    if unknown := sorted(items - allowed):
        raise PolicyError(f"{where}: unknown {unknown}; declared: {sorted(allowed)}")
    return items


def _unique(names: Sequence[str], where: str) -> None:
    if dupes := sorted({n for n in names if names.count(n) > 1}):
        raise PolicyError(f"{where}: duplicates {dupes}")


def _reject_unknown(item: Mapping[str, object], allowed: frozenset[str], where: str) -> None:
    # A misspelt key would be ignored and a rule would silently match too much.
    if unknown := sorted(set(item) - allowed):
        raise PolicyError(f"{where}: unknown keys {unknown}; allowed: {sorted(allowed)}")


def _mapping(value: object, where: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise PolicyError(f"{where}: expected a mapping, got {type(value).__name__}")
    return {str(k): v for k, v in value.items()}


def _list(value: object, where: str) -> list[object]:
    if not isinstance(value, list):
        raise PolicyError(f"{where}: expected a list, got {type(value).__name__}")
    return value


def _strings(value: object, where: str) -> list[str]:
    items = _list(value, where)
    if not all(isinstance(s, str) and s.strip() for s in items):
        hint = " (quote NO, ON, YES: YAML reads them as booleans)" * (any(isinstance(s, bool) for s in items))
        raise PolicyError(f"{where}: expected non-empty strings, got {items!r}{hint}")
    return cast(list[str], items)


def _text(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise PolicyError(f"{where}: expected a non-empty string, got {value!r}")
    return value.strip()
