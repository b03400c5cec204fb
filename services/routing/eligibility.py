"""Which rule a lead meets and which reps may serve it under that rule.

Pure set logic over the policy and the roster: no I/O, no clock, no shared state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from services.routing.policy import RoutingPolicy, RoutingRule
from services.routing.roster import GLOBAL_TERRITORY, Rep

Exclusion = Literal["inactive", "outside_territory", "product_mismatch", "segment_mismatch"]


@dataclass(frozen=True)
class LeadToRoute:
    """What routing needs of a qualified lead (LeadQualified's fields).

    `country` is ISO 3166-1 alpha-2; `region` is the subdivision within it (state or
    province: "CA" in the US is California), never the sales region, which the policy
    derives from the country.
    """

    lead_id: str
    email: str
    company_domain: str | None = None
    country: str | None = None
    region: str | None = None
    product_interest: str | None = None
    employees: int | None = None
    grade: str | None = None
    score: float = 0.0


def account_domain(lead: LeadToRoute, policy: RoutingPolicy) -> str | None:
    """The company (else email) domain, lower-cased; None for free-mail domains."""
    domain = (lead.company_domain or lead.email.rpartition("@")[2]).strip().lower()
    return domain if domain and domain not in policy.free_mail_domains else None


@dataclass(frozen=True)
class LeadFacts:
    """The lead in the policy's vocabulary, so matching is plain set membership."""

    territories: frozenset[str]
    product: str | None
    segment: str
    grade: str | None


def facts_of(lead: LeadToRoute, policy: RoutingPolicy) -> LeadFacts:
    """Normalise the lead: its territories are country, COUNTRY-SUBDIVISION and region."""
    country = (lead.country or "").strip().upper()
    return LeadFacts(
        territories=frozenset(t for t in (country, _subdivision(lead, country), policy.region_of(country)) if t),
        product=(lead.product_interest or "").strip().lower() or None,
        segment=policy.segment_of(lead.employees),
        grade=(lead.grade or "").strip().upper() or None,
    )


def _subdivision(lead: LeadToRoute, country: str) -> str | None:
    # "CA" alone would read as Canada, so a subdivision is only ever matched as "US-CA".
    code = (lead.region or "").strip().upper()
    if not code or not country:
        return None
    return code if code.startswith(f"{country}-") else f"{country}-{code}"


def match_rule(lead: LeadToRoute, policy: RoutingPolicy) -> RoutingRule | None:
    """The first rule whose conditions the lead meets, in policy order."""
    return first_rule(facts_of(lead, policy), policy)


def first_rule(facts: LeadFacts, policy: RoutingPolicy) -> RoutingRule | None:
    """The first rule whose conditions all hold, in policy order."""
    return next((rule for rule in policy.rules if _rule_holds(rule, facts)), None)


def _rule_holds(rule: RoutingRule, facts: LeadFacts) -> bool:
    return (
        (not rule.territories or bool(rule.territories & facts.territories))
        and (not rule.products or facts.product in rule.products)
        and (not rule.segments or facts.segment in rule.segments)
        and (not rule.grades or facts.grade in rule.grades)
    )


def eligibility(
    facts: LeadFacts,
    reps: Mapping[str, Rep],
    rule: RoutingRule | None,
    skip: str | None,
) -> tuple[tuple[str, Exclusion | None], ...]:
    """Each rep but `skip`, by rep_id, with why it cannot serve (None: eligible)."""
    # No rule, no pool: nobody was considered, so nobody is reported as passed over.
    if rule is None:
        return ()
    ordered = sorted(rep_id for rep_id in reps if rep_id != skip)
    return tuple((rep_id, _exclusion(reps[rep_id], facts, rule)) for rep_id in ordered)


def _exclusion(rep: Rep, facts: LeadFacts, rule: RoutingRule) -> Exclusion | None:
    """The first reason `rep` cannot serve the lead under `rule`; None if eligible."""
    checks = rule.rep_must_match
    if not rep.active:
        return "inactive"
    if "territory" in checks and not ({GLOBAL_TERRITORY} | facts.territories) & rep.territories:
        return "outside_territory"
    if "product" in checks and facts.product and rep.products and facts.product not in rep.products:
        return "product_mismatch"
    if "segment" in checks and rep.segments and facts.segment not in rep.segments:
        return "segment_mismatch"
    return None
