"""Fit scoring: how closely a lead's facts match the ideal customer profile.

Pure: facts and rules in, explanation factors out; unknown facts earn nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from services.scoring.model import FIT_PREFIX, Factor, LeadFacts
from services.scoring.rules import (
    Band,
    DomainRule,
    FitRules,
    KeywordRule,
    normalise_words,
)

FitCheck = Callable[[LeadFacts, FitRules], Factor | None]


def score_fit(facts: LeadFacts, rules: FitRules) -> tuple[Factor, ...]:
    """One factor per fit rule that matched, in a fixed order; a matched rule may earn 0."""
    checks: tuple[FitCheck, ...] = (
        _seniority,
        _function,
        _employees,
        _annual_revenue,
        _industry,
        _country,
        _email_domain,
    )
    return tuple(f for f in (check(facts, rules) for check in checks) if f is not None)


def match_keyword_rule(title: str, rules: tuple[KeywordRule, ...]) -> KeywordRule | None:
    """The first rule with a keyword present as whole words in the title ('intern' != 'internal')."""
    padded = f" {normalise_words(title)} "
    return next((r for r in rules if any(f" {k} " in padded for k in r.keywords)), None)


def match_band(value: int, bands: tuple[Band, ...]) -> Band | None:
    """The band holding value, bounds inclusive."""
    return next((b for b in bands if b.min <= value and (b.max is None or value <= b.max)), None)


def email_domain(email: str) -> str | None:
    """The lowercased part after the last '@', or None when there is none."""
    _, at, domain = email.strip().lower().rpartition("@")
    return domain if at and domain else None


def _in_domains(domain: str, rule: DomainRule) -> bool:
    # Subdomains count too: 'x.mailinator.com' is as disposable as 'mailinator.com'.
    return any(domain == d or domain.endswith(f".{d}") for d in rule.domains)


def _title_factor(name: str, title: str | None, rules: tuple[KeywordRule, ...]) -> Factor | None:
    rule = match_keyword_rule(title, rules) if title else None
    if rule is None:
        return None
    return Factor(f"{FIT_PREFIX}{name}", rule.points, f"job title {title!r} is {rule.name}")


def _band_factor(name: str, value: int | None, bands: tuple[Band, ...]) -> Factor | None:
    band = match_band(value, bands) if value is not None else None
    if band is None:
        return None
    upper = "+" if band.max is None else f"-{band.max}"
    return Factor(f"{FIT_PREFIX}{name}", band.points, f"{name} {value} in band {band.min}{upper}")


def _seniority(facts: LeadFacts, rules: FitRules) -> Factor | None:
    return _title_factor("seniority", facts.job_title, rules.seniority)


def _function(facts: LeadFacts, rules: FitRules) -> Factor | None:
    return _title_factor("function", facts.job_title, rules.function)


def _employees(facts: LeadFacts, rules: FitRules) -> Factor | None:
    return _band_factor("employees", facts.employees, rules.employees)


def _annual_revenue(facts: LeadFacts, rules: FitRules) -> Factor | None:
    return _band_factor("annual_revenue", facts.annual_revenue, rules.annual_revenue)


def _industry(facts: LeadFacts, rules: FitRules) -> Factor | None:
    points = rules.industries.get(normalise_words(facts.industry or ""))
    if points is None:
        return None
    return Factor(f"{FIT_PREFIX}industry", points, f"industry {facts.industry!r}")


def _country(facts: LeadFacts, rules: FitRules) -> Factor | None:
    code = (facts.country or "").strip().upper()
    points = rules.countries.get(code)
    if points is None:
        return None
    return Factor(f"{FIT_PREFIX}country", points, f"country {code}")


def _email_domain(facts: LeadFacts, rules: FitRules) -> Factor | None:
    domain = email_domain(facts.email) if facts.email else None
    if domain is None:
        return None
    # Disposable is checked first: it is the stronger signal when a domain is on both lists.
    for label, rule in (
        ("disposable", rules.disposable_mail),
        ("free mail", rules.free_mail),
    ):
        if _in_domains(domain, rule):
            return Factor(f"{FIT_PREFIX}email_domain", rule.points, f"{domain} is {label}")
    return None
