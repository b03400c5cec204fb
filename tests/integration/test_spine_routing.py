"""The whole lead spine, ingest -> scoring -> routing, as real processes on the real broker and Redis."""

from __future__ import annotations

import collections
import json
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from services.scoring.rules import default_rules_path
from tests.integration.harness import API_KEY, Infra, Stack

DEFAULT_RULES = default_rules_path()

# Every lead here qualifies: a senior buyer at a large company in a scored country, with intent.
HOT = {
    "source": "web_form",
    "job_title": "VP of Sales",
    "employees": 1200,
    "country": "US",
    "region": "CA",
    "industry": "Software",
    "product_interest": "platform",
    "annual_revenue": 50_000_000,
}


POLICY = """
fallback_queue: unassigned
regions: {NA: [US, CA]}
segments: [{name: smb, max_employees: 199}, {name: enterprise}]
unknown_segment: smb
products: [platform, analytics]
sla: {by_grade: {A: 15m, B: 1h, C: 4h, D: 24h}, default: 24h}
free_mail_domains: [gmail.com]
rules:
  - name: everyone
    rep_must_match: []
"""


def rep(rep_id: str, capacity: int = 50, active: bool = True, territories: tuple[str, ...] = ("US",)) -> dict[str, Any]:
    return {
        "rep_id": rep_id,
        "name": f"Rep {rep_id}",
        "email": f"{rep_id}@seller.example",
        "active": active,
        "capacity": capacity,
        "territories": list(territories),
        "products": ["platform", "analytics"],
        "segments": ["smb", "mid_market", "enterprise"],
        "timezone": "America/Los_Angeles",
        "manager": None,
        "updated_at": datetime.now(UTC),
    }


@pytest.fixture(scope="module")
def spine(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = Stack(infra, tmp_path_factory.mktemp("routing"))
    policy = tmp_path_factory.mktemp("policy") / "policy.yaml"
    # One rule for the whole world, so the test controls the pool through the roster alone.
    policy.write_text(POLICY)
    stack.extra_env["ROUTING_POLICY_PATH"] = str(policy)
    # A lower MQL threshold lets fit alone qualify these leads, so the test needs no engagement.
    rules = policy.with_name("scoring.yaml")
    rules.write_text(DEFAULT_RULES.read_text().replace("mql_threshold: 60", "mql_threshold: 30"))
    stack.extra_env["SCORING_RULES_PATH"] = str(rules)
    stack.extra_env["ROUTING_ROSTER_CACHE_SECONDS"] = "0"
    for rep_id, capacity, active in (("r1", 3, True), ("r2", 3, True), ("r3", 3, True), ("r4", 50, False)):
        stack.produce("reps.roster", "RepProfile", rep(rep_id, capacity, active), key=rep_id)
    stack.start("ingest", "scoring", "routing")
    yield stack
    stack.close()


def submit(stack: Stack, leads: list[dict[str, Any]]) -> list[str]:
    request = urllib.request.Request(
        stack.services["ingest"].url("/v1/leads"),
        data=json.dumps(leads).encode(),
        headers={"Authorization": f"Bearer {API_KEY}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return [r["lead_id"] for r in json.loads(response.read())["results"]]


SUBMITTED: list[dict[str, Any]] = []


def hot_lead() -> dict[str, Any]:
    tag = uuid.uuid4().hex[:10]
    lead = HOT | {
        "event_id": uuid.uuid4().hex,
        "email": f"buyer-{tag}@gmail.com",
        "first_name": f"Zephyrine{tag}",
        "last_name": f"Quaxley{tag}",
        "phone": "+1 415 555 2671",
    }
    SUBMITTED.append(lead)
    return lead


def assignments(stack: Stack, lead_ids: list[str], seconds: float = 60) -> dict[str, dict[str, Any]]:
    reader = stack.consumer("leads.assigned")
    wanted = set(lead_ids)
    seen = reader.poll_until(lambda s: wanted <= {v["lead_id"] for _, v, _ in s}, seconds)
    reader.close()
    return {v["lead_id"]: v for _, v, _ in seen if v["lead_id"] in wanted}


def test_leads_are_assigned_fairly_within_capacity_with_an_audit(spine: Stack) -> None:
    """Nine qualified leads go three to each active rep, never over capacity, each with its why."""
    lead_ids = submit(spine, [hot_lead() for _ in range(9)])
    assigned = assignments(spine, lead_ids)
    assert set(assigned) == set(lead_ids)
    per_rep = collections.Counter(a["rep_id"] for a in assigned.values())
    assert per_rep == {"r1": 3, "r2": 3, "r3": 3}
    for a in assigned.values():
        assert a["rule"] == "everyone" and a["sla_due_at"] > a["occurred_at"]
        reasons = {c["rep_id"]: c["reason"] for c in a["candidates"]}
        assert reasons["r4"] == "inactive"
        assert a["captured_at"] is not None


def test_lead_beyond_every_capacity_goes_to_the_fallback_queue(spine: Stack) -> None:
    """With every active rep full, the next lead is queued, never dropped."""
    lead_ids = submit(spine, [hot_lead()])
    assigned = assignments(spine, lead_ids)
    (only,) = assigned.values()
    assert only["rep_id"] is None and only["queue"] == "unassigned"
    assert {c["reason"] for c in only["candidates"] if c["rep_id"] != "r4"} == {"at_capacity"}


def test_service_logs_carry_no_personal_data(spine: Stack) -> None:
    """After the run, no service log line holds a submitted email, name or phone number."""
    assert SUBMITTED, "the other tests submitted nothing"
    logs = {path.name: path.read_text(errors="replace") for path in spine.workdir.glob("*.log")}
    assert set(logs) >= {"ingest.log", "scoring.log", "routing.log"}
    needles = {value for lead in SUBMITTED for value in (lead["email"], lead["first_name"], lead["last_name"])}
    needles |= {"+14155552671", "415 555 2671"}
    leaks = {(name, needle) for name, text in logs.items() for needle in needles if needle in text}
    assert not leaks, f"personal data in logs: {sorted(leaks)[:5]}"
    assert "lead_assigned" in logs["routing.log"], "the logs are not the ones the pipeline wrote"
