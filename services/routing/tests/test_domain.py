"""Pure tests of the routing policy, roster records and routing decisions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.routing.domain import (
    LeadToRoute,
    Pick,
    RoutePlan,
    account_domain,
    decide_assignment,
    match_rule,
    plan_route,
    route_leads,
    sla_due_at,
)
from services.routing.explain import describe_assignment
from services.routing.policy import PolicyError, RoutingPolicy, load_policy
from services.routing.roster import Rep, RosterError, load_roster, rep_from_dict, rep_to_dict

HERE = Path(__file__).resolve().parent.parent
NOW = datetime(2025, 3, 4, 9, 30, tzinfo=UTC)
FAST = settings(max_examples=100, deadline=None)

POLICY_YAML = """
fallback_queue: routing.unassigned
regions: {NA: [US, CA], EMEA: [GB, DE, FR]}
segments: [{name: smb, max_employees: 199}, {name: mid_market, max_employees: 1999}, {name: enterprise}]
products: [platform, analytics]
sla: {by_grade: {A: 15m, B: 1h, C: 4h, D: 24h}, default: 24h}
free_mail_domains: [gmail.com, outlook.com]
rules:
  - {name: enterprise-emea, territories: [EMEA], segments: [enterprise], rep_must_match: [territory, segment]}
  - {name: analytics, products: [analytics]}
  - {name: hot-na, territories: [NA], grades: [A]}
  - {name: catch-all, rep_must_match: [territory]}
"""


def make_rep(rep_id: str, **fields: object) -> Rep:
    base = {"rep_id": rep_id, "name": rep_id.title(), "email": f"{rep_id}@example.com"}
    return rep_from_dict({"capacity": 10, "territories": ["NA", "EMEA"], **base, **fields})


def roster(*reps: Rep) -> dict[str, Rep]:
    return {rep.rep_id: rep for rep in reps}


@pytest.fixture(scope="module")
def policy() -> RoutingPolicy:
    return load_policy(POLICY_YAML)


# --- policy -------------------------------------------------------------------------


def test_default_policy_loads_with_the_issue_slas() -> None:
    """The shipped policy parses and carries SLAs of 15 min, 1 h, 4 h and 24 h by grade."""
    shipped = load_policy(HERE / "routing_policy.yaml")
    windows = [shipped.sla_for(g) for g in "ABCD"]
    assert windows == [timedelta(minutes=15), timedelta(hours=1), timedelta(hours=4), timedelta(hours=24)]
    assert set(shipped.regions) == {"NA", "EMEA", "APAC", "LATAM"}
    assert shipped.region_of("no") == "EMEA"


def test_policy_loads_from_a_path_given_as_text() -> None:
    """A one-line str ending in .yaml is read as a file path, not parsed as YAML text."""
    assert load_policy(str(HERE / "routing_policy.yaml")).fallback_queue == "routing.unassigned"


def test_segments_split_on_inclusive_ceilings(policy: RoutingPolicy) -> None:
    """Headcounts fall into the smallest band whose max holds them; unknown is the first band."""
    assert [policy.segment_of(n) for n in (0, 199, 200, 1999, 2000, None)] == [
        "smb",
        "smb",
        "mid_market",
        "mid_market",
        "enterprise",
        "smb",
    ]


def test_unlisted_grade_gets_the_default_sla(policy: RoutingPolicy) -> None:
    """A grade the policy does not list, or none at all, gets `default_sla`."""
    assert policy.sla_for("Z") == policy.sla_for(None) == timedelta(hours=24)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("name: analytics,", "name: analytics, colour: red,", "unknown keys ['colour']"),
        ("segments: [enterprise]", "segments: [huge]", "unknown ['huge']"),
        ("name: hot-na", "name: analytics", "duplicates ['analytics']"),
        ("A: 15m", "A: soon", "sla.by_grade.A"),
        ("EMEA: [GB, DE, FR]", "EMEA: [GB, DE, US]", "one region only"),
        ("name: hot-na, territories: [NA], grades: [A]", "name: hot-na", "'hot-na' matches every lead"),
        ("name: catch-all", "name: account_owner", "reserved"),
        ("territories: [EMEA]", "territories: [Europe]", "not a declared region"),
        ("regions: {NA: [US, CA]", "regions: {NA: [US, CA, NO]", "quote NO"),
    ],
)
def test_malformed_policies_fail_naming_the_field(old: str, new: str, message: str) -> None:
    """Each kind of policy mistake raises PolicyError whose message points at it."""
    assert old in POLICY_YAML
    with pytest.raises(PolicyError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_policy(POLICY_YAML.replace(old, new, 1))


def test_missing_policy_file_is_a_policy_error(tmp_path: Path) -> None:
    """An unreadable policy file raises PolicyError, not a bare OSError."""
    with pytest.raises(PolicyError, match="cannot load"):
        load_policy(tmp_path / "absent.yaml")


# --- roster -------------------------------------------------------------------------


def test_demo_roster_is_a_plausible_team() -> None:
    """The demo roster has about a dozen reps with example.com emails over all regions."""
    reps = load_roster(HERE / "demo_roster.yaml")
    assert 10 <= len(reps) <= 16
    assert all(rep.email.endswith("@example.com") for rep in reps)
    shipped = load_policy(HERE / "routing_policy.yaml")
    covered = {shipped.region_of(t) or t for rep in reps for t in rep.territories}
    assert {"NA", "EMEA", "APAC", "LATAM"} <= covered


def test_roster_records_take_the_schema_defaults() -> None:
    """A minimal RepProfile is an active, 50-lead rep who covers no territory yet."""
    rep = rep_from_dict({"rep_id": "r1", "name": "Ann", "email": "ann@example.com", "updated_at": 0})
    assert (rep.active, rep.capacity, rep.territories, rep.timezone, rep.manager) == (
        True,
        50,
        frozenset(),
        "UTC",
        None,
    )


def test_rep_records_carry_updated_at_when_given() -> None:
    """rep_to_dict adds RepProfile's updated_at only when the caller passes one."""
    rep = make_rep("r1")
    assert "updated_at" not in rep_to_dict(rep)
    assert rep_to_dict(rep, NOW)["updated_at"] == NOW


def test_duplicate_rep_ids_are_refused() -> None:
    """A roster listing one rep_id twice is rejected."""
    text = "reps:\n" + "  - {rep_id: r1, name: A, email: a@example.com, capacity: 1, territories: [US]}\n" * 2
    with pytest.raises(RosterError, match="duplicate"):
        load_roster(text)


@pytest.mark.parametrize(
    "bad",
    [{"capacity": -1}, {"capacity": True}, {"territories": "US"}, {"rep_id": "a b"}, {"active": "yes"}],
)
def test_malformed_rep_records_are_refused(bad: Mapping[str, object]) -> None:
    """Negative or boolean capacity, a bare-string territory, a spaced id or a non-bool flag is refused."""
    record = {**rep_to_dict(make_rep("r1")), **bad}
    with pytest.raises(RosterError):
        rep_from_dict(record)


CODES = st.sampled_from(["US", "CA", "GB", "DE", "NA", "EMEA", "*"])
reps_st = st.builds(
    Rep,
    rep_id=st.from_regex(r"rep-[a-z0-9]{1,6}", fullmatch=True),
    name=st.sampled_from(["Ann Lee", "Bo Chen", "Ola Nordmann"]),
    email=st.from_regex(r"[a-z]{1,5}@example\.com", fullmatch=True),
    capacity=st.integers(0, 50),
    territories=st.frozensets(CODES),
    products=st.frozensets(st.sampled_from(["platform", "analytics"])),
    segments=st.frozensets(st.sampled_from(["smb", "mid_market", "enterprise"])),
    active=st.booleans(),
    timezone=st.sampled_from(["UTC", "Europe/Berlin"]),
    manager=st.none() | st.just("mgr-1"),
)


@FAST
@given(reps_st)
def test_rep_records_round_trip(rep: Rep) -> None:
    """rep_from_dict(rep_to_dict(rep)) gives back the same rep."""
    assert rep_from_dict(rep_to_dict(rep)) == rep


# --- planning -----------------------------------------------------------------------


def test_ineligible_reps_are_passed_over_with_their_reason(policy: RoutingPolicy) -> None:
    """Inactive, wrong-territory, wrong-product and wrong-segment reps leave the pool, each saying why."""
    reps = roster(
        make_rep("ok", territories=["DE"], products=["analytics"], segments=["smb"]),
        make_rep("asleep", active=False),
        make_rep("yankee", territories=["US"]),
        make_rep("seller", products=["platform"]),
        make_rep("bigco", segments=["enterprise"]),
    )
    lead = LeadToRoute("l1", "ann@acme.de", country="de", product_interest="Analytics", employees=40)
    plan = plan_route(lead, reps, policy, None)
    assert plan.rule_name == "analytics"
    assert plan.pool == ("ok",)
    assert {(c.rep_id, c.reason) for c in plan.passed_over} == {
        ("asleep", "inactive"),
        ("yankee", "outside_territory"),
        ("seller", "product_mismatch"),
        ("bigco", "segment_mismatch"),
    }


def test_first_matching_rule_wins(policy: RoutingPolicy) -> None:
    """An enterprise EMEA analytics lead takes the earlier enterprise rule, not the analytics one."""
    lead = LeadToRoute("l1", "a@b.fr", country="FR", product_interest="analytics", employees=5000)
    assert (rule := match_rule(lead, policy)) is not None and rule.name == "enterprise-emea"
    assert (rule := match_rule(replace(lead, employees=10), policy)) is not None
    assert rule.name == "analytics"


def test_lead_region_is_a_subdivision_of_its_country(policy: RoutingPolicy) -> None:
    """A US lead in region CA is California: it matches US-CA, never Canada's CA."""
    reps = roster(make_rep("canada", territories=["CA"]), make_rep("cali", territories=["US-CA"]))
    lead = LeadToRoute("l1", "a@b.com", country="us", region="ca")
    plan = plan_route(lead, reps, policy, None)
    assert plan.pool == ("cali",)
    assert plan.passed_over[0].rep_id == "canada" and plan.passed_over[0].reason == "outside_territory"
    assert plan_route(replace(lead, region="US-CA"), reps, policy, None).pool == ("cali",)


def test_rep_with_global_territory_covers_any_country(policy: RoutingPolicy) -> None:
    """A '*' territory puts the rep in the pool for a country no region lists."""
    reps = roster(make_rep("world", territories=["*"]), make_rep("local", territories=["US"]))
    plan = plan_route(LeadToRoute("l1", "a@b.jp", country="JP"), reps, policy, None)
    assert plan.pool == ("world",)


def test_active_owner_leads_and_is_kept_out_of_the_rotation(policy: RoutingPolicy) -> None:
    """An active account owner is tried first whatever the rule and is not a pool member."""
    reps = roster(make_rep("owner", territories=["US"]), make_rep("a"), make_rep("b"))
    lead = LeadToRoute("l1", "cto@acme.de", country="DE")
    plan = plan_route(lead, reps, policy, "owner")
    assert (plan.owner, plan.pool) == ("owner", ("a", "b"))
    assert plan.capacity == {"owner": 10, "a": 10, "b": 10}
    done = decide_assignment(lead, plan, "owner", (), policy, NOW)
    assert (done.rep_id, done.rule_name, done.reason) == ("owner", "account_owner", "account_owner")


@pytest.mark.parametrize(("owner", "reason"), [("gone", "not_in_roster"), ("asleep", "inactive")])
def test_unavailable_owner_falls_back_to_the_rules(policy: RoutingPolicy, owner: str, reason: str) -> None:
    """An owner who left or is inactive is recorded as passed over and the rules decide."""
    reps = roster(make_rep("asleep", active=False), make_rep("a"))
    plan = plan_route(LeadToRoute("l1", "a@acme.com", country="US"), reps, policy, owner)
    assert plan.owner is None and plan.pool == ("a",)
    assert [(c.rep_id, c.reason) for c in plan.passed_over if c.rep_id == owner] == [(owner, reason)]


def test_account_domain_skips_free_mail(policy: RoutingPolicy) -> None:
    """Company domain beats the email's; a free-mail address is never an account."""
    assert account_domain(LeadToRoute("l", "x@Gmail.com"), policy) is None
    assert account_domain(LeadToRoute("l", "x@gmail.com", company_domain="Acme.io"), policy) == "acme.io"
    assert account_domain(LeadToRoute("l", "x@Initech.COM"), policy) == "initech.com"


# --- deciding -----------------------------------------------------------------------


def test_no_pick_goes_to_the_fallback_queue_with_every_rep_at_capacity(policy: RoutingPolicy) -> None:
    """When every pool rep is full the lead is queued, not dropped, and the audit says so."""
    reps = roster(make_rep("a"), make_rep("b"))
    lead = LeadToRoute("l1", "a@b.com", country="US", grade="B")
    plan = plan_route(lead, reps, policy, None)
    done = decide_assignment(lead, plan, None, ("b", "a"), policy, NOW)
    assert (done.rep_id, done.queue, done.reason) == (None, "routing.unassigned", "all_at_capacity")
    assert {(c.rep_id, c.reason) for c in done.candidates} == {("a", "at_capacity"), ("b", "at_capacity")}
    assert done.sla_due_at == NOW + timedelta(hours=1)


def test_lead_without_eligible_reps_is_queued_as_such(policy: RoutingPolicy) -> None:
    """An empty pool sends the lead to the fallback queue with reason no_eligible_rep."""
    reps = roster(make_rep("far", territories=["GB"]))
    lead = LeadToRoute("l1", "a@b.com", country="US")
    done = decide_assignment(lead, plan_route(lead, reps, policy, None), None, (), policy, NOW)
    assert (done.queue, done.reason, done.rule_name) == ("routing.unassigned", "no_eligible_rep", "catch-all")


def test_audit_explains_every_loser(policy: RoutingPolicy) -> None:
    """The winner is chosen; pool reps it beat lost the round robin or were full."""
    reps = roster(make_rep("a"), make_rep("b"), make_rep("c"), make_rep("d", active=False))
    lead = LeadToRoute("l1", "a@b.com", country="US")
    done = decide_assignment(lead, plan_route(lead, reps, policy, None), "b", ("a",), policy, NOW)
    assert [(c.rep_id, c.outcome, c.reason) for c in done.candidates] == [
        ("b", "chosen", "round_robin"),
        ("a", "passed_over", "at_capacity"),
        ("c", "passed_over", "lost_round_robin"),
        ("d", "passed_over", "inactive"),
    ]


def test_assignment_reasons_read_as_words(policy: RoutingPolicy) -> None:
    """The reason sentence names the rule, the pool size and, when queued, the queue."""
    reps = roster(make_rep("a"), make_rep("b"), make_rep("far", territories=["GB"]))
    lead = LeadToRoute("l1", "a@b.com", country="US")
    plan = plan_route(lead, reps, policy, None)
    won = describe_assignment(decide_assignment(lead, plan, "a", (), policy, NOW))
    lost = describe_assignment(decide_assignment(lead, plan, None, ("a", "b"), policy, NOW))
    assert won == "next in rotation with spare capacity among 2 eligible reps under rule catch-all"
    assert lost == "all 2 eligible reps at capacity under rule catch-all; queued to routing.unassigned"


def test_sla_due_needs_an_aware_clock(policy: RoutingPolicy) -> None:
    """A grade-A lead is due in 15 minutes; a naive `now` is refused."""
    assert sla_due_at("a", NOW, policy) == NOW + timedelta(minutes=15)
    with pytest.raises(ValueError, match="timezone-aware"):
        sla_due_at("A", NOW.replace(tzinfo=None), policy)


# --- invariants ---------------------------------------------------------------------

leads_st = st.builds(
    LeadToRoute,
    lead_id=st.uuids().map(str),
    email=st.emails(),
    company_domain=st.none() | st.sampled_from(["acme.io", "gmail.com"]),
    country=st.none() | st.sampled_from(["US", "ca", "DE", "FR", "JP"]),
    region=st.none() | st.sampled_from(["EMEA", "NA"]),
    product_interest=st.none() | st.sampled_from(["platform", "analytics"]),
    employees=st.none() | st.integers(0, 10_000),
    grade=st.none() | st.sampled_from(["A", "B", "C", "D", "E"]),
    score=st.floats(0, 100),
)
rosters_st = st.lists(reps_st, max_size=8, unique_by=lambda r: r.rep_id).map(lambda rs: roster(*rs))


@FAST
@given(leads_st, rosters_st, st.data())
def test_planning_is_deterministic_and_accounts_for_every_rep(
    policy: RoutingPolicy, lead: LeadToRoute, reps: dict[str, Rep], data: st.DataObject
) -> None:
    """Any roster order gives the same plan, and each rep is owner, pool member or passed over once."""
    owner = data.draw(st.none() | st.sampled_from([*reps, "ghost"]))
    shuffled = dict(data.draw(st.permutations(list(reps.items()))))
    plan = plan_route(lead, reps, policy, owner)
    assert plan == plan_route(lead, shuffled, policy, owner)
    assert list(plan.pool) == sorted(plan.pool)
    seen = [*plan.pool, *(c.rep_id for c in plan.passed_over), *([plan.owner] if plan.owner else [])]
    assert len(seen) == len(set(seen))
    assert all(reps[r].active for r in plan.pool)


@FAST
@given(leads_st, rosters_st, st.data())
def test_no_lead_is_ever_dropped(
    policy: RoutingPolicy, lead: LeadToRoute, reps: dict[str, Rep], data: st.DataObject
) -> None:
    """Whatever the store picked, the lead lands with exactly one rep or the fallback queue."""
    plan = plan_route(lead, reps, policy, data.draw(st.none() | st.sampled_from([*reps, "x"])))
    members = [*([plan.owner] if plan.owner else []), *plan.pool]
    picked = data.draw(st.none() | st.sampled_from(members)) if members else None
    full = tuple(members[: members.index(picked)] if picked else members)
    done = decide_assignment(lead, plan, picked, full, policy, NOW)
    assert (done.rep_id is None) != (done.queue is None)
    assert [c.rep_id for c in done.candidates if c.outcome == "chosen"] == ([picked] if picked else [])
    assert sorted(c.rep_id for c in done.candidates) == sorted([*members, *(c.rep_id for c in plan.passed_over)])
    assert done.sla_due_at > NOW


# --- route_leads over a model of the store ------------------------------------------


class FakeStore:
    """An in-memory RepLoadStore with the Lua script's semantics, for pure end-to-end tests."""

    def __init__(self) -> None:
        self.load: dict[str, int] = {}
        self.cursor: dict[str, int] = {}
        self.owners: dict[str, str] = {}
        self.round_trips = 0

    async def pick_reps(self, requests: Sequence[tuple[str, RoutePlan]]) -> list[Pick]:
        self.round_trips += 1
        return [self._pick(plan) for _, plan in requests]

    def _pick(self, plan: RoutePlan) -> Pick:
        full: list[str] = []
        pinned = [plan.owner] if plan.owner else []
        start = self.cursor.get(plan.pool_key, 0)
        rotation = [plan.pool[(start + i) % len(plan.pool)] for i in range(len(plan.pool))]
        for rep in [*pinned, *rotation]:
            if self.load.get(rep, 0) < plan.capacity[rep]:
                self.load[rep] = self.load.get(rep, 0) + 1
                if rep in plan.pool and rep != plan.owner:
                    self.cursor[plan.pool_key] = (plan.pool.index(rep) + 1) % len(plan.pool)
                return Pick(rep, tuple(full))
            full.append(rep)
        return Pick(None, tuple(full))

    async def release(self, rep_id: str) -> int:
        self.load[rep_id] = max(0, self.load.get(rep_id, 0) - 1)
        return self.load[rep_id]

    async def account_owners(self, domains: Sequence[str]) -> list[str | None]:
        self.round_trips += bool(domains)  # as the Redis store: nothing to ask, no round trip
        return [self.owners.get(domain) for domain in domains]

    async def claim_accounts(self, claims: Sequence[tuple[str, str]]) -> list[str]:
        self.round_trips += 1
        return [self.owners.setdefault(domain, rep_id) for domain, rep_id in claims]


@pytest.mark.asyncio
async def test_route_lead_keeps_an_account_with_its_first_rep(policy: RoutingPolicy) -> None:
    """The rep who got an account's first lead gets the next lead from that domain too."""
    reps = roster(make_rep("a"), make_rep("b"), make_rep("c"))
    store = FakeStore()

    async def route(lead_id: str, email: str) -> str:
        lead = LeadToRoute(lead_id, email, country="US")
        (assignment,) = await route_leads([lead], reps, policy, store, NOW)
        return str(assignment.rep_id)

    first = await route("l1", "ann@acme.io")
    others = [await route(f"l{i}", f"u{i}@gmail.com") for i in range(2, 5)]
    assert await route("l9", "bob@acme.io") == first
    assert store.owners == {"acme.io": first}
    assert sorted([first, *others]) == ["a", "a", "b", "c"]


@pytest.mark.asyncio
async def test_route_leads_together_as_one_at_a_time(policy: RoutingPolicy) -> None:
    """A batch gets the assignments one lead at a time gets: a later lead of an account the batch
    already gave a rep goes to that rep, in a run of its own."""
    reps = roster(make_rep("a"), make_rep("b"), make_rep("c"))
    emails = ["ann@acme.io", "u1@gmail.com", "cy@globex.io", "bob@acme.io", "u2@gmail.com", "di@acme.io"]
    leads = [LeadToRoute(f"l{i}", email, country="US") for i, email in enumerate(emails)]
    alone, together = FakeStore(), FakeStore()
    one_by_one = [(await route_leads([lead], reps, policy, alone, NOW))[0] for lead in leads]
    batched = await route_leads(leads, reps, policy, together, NOW)
    assert batched == one_by_one
    assert [a.rep_id for a in batched if a.lead_id in ("l0", "l3", "l5")] == [batched[0].rep_id] * 3
    assert together.owners == alone.owners
    # Three runs (acme.io recurs twice), three round trips each; one at a time costs 14.
    assert (together.round_trips, alone.round_trips) == (9, 14)
