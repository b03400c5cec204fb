"""analytics on the real broker and Redis: a scripted set of lead and deal records in, exact
funnel, speed, forecast, rep and nurture numbers out of the API and /metrics; duplicates change
nothing; a SIGKILLed worker recovers the same numbers from its changelogs.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.integration.harness import ROOT, Infra, ServiceProcess, Stack, metrics

T0 = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)
EXAMPLES = ROOT / "schemas" / "avro" / "examples"
FLUSH_ENV = {"ANALYTICS_FLUSH_INTERVAL_SECONDS": "0.3"}


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def example(record: str, name: str, **fields: Any) -> dict[str, Any]:
    """A schema example with fields replaced: every record the test sends is a valid one."""
    value: dict[str, Any] = json.loads((EXAMPLES / record / f"{name}.json").read_text())
    return value | fields


def captured(lead: str, minutes: float, source: str) -> tuple[str, str, dict[str, Any]]:
    when = at(minutes)
    fields = {"event_id": f"{lead}:cap", "lead_id": lead, "occurred_at": when, "captured_at": when, "source": source}
    return "leads.captured", "LeadCaptured", example("LeadCaptured", "new_lead", **fields)


def scored(lead: str, minutes: float, grade: str) -> tuple[str, str, dict[str, Any]]:
    fields = {
        "event_id": f"{lead}:sc",
        "lead_id": lead,
        "occurred_at": at(minutes),
        "grade": grade,
        "captured_at": None,
    }
    return "leads.scored", "LeadScored", example("LeadScored", "hot_lead", **fields)


def qualified(lead: str, minutes: float, grade: str) -> tuple[str, str, dict[str, Any]]:
    fields = {"event_id": f"{lead}:q", "lead_id": lead, "occurred_at": at(minutes), "grade": grade, "captured_at": None}
    return "leads.qualified", "LeadQualified", example("LeadQualified", "qualified", **fields)


def assigned(lead: str, minutes: float, rep: str, grade: str, captured_min: float) -> tuple[str, str, dict[str, Any]]:
    fields = {
        "event_id": f"{lead}:as",
        "lead_id": lead,
        "occurred_at": at(minutes),
        "rep_id": rep,
        "grade": grade,
        "captured_at": at(captured_min),
        "sla_due_at": at(minutes + 5),
    }
    return "leads.assigned", "LeadAssigned", example("LeadAssigned", "to_rep", **fields)


def emailed(lead: str, minutes: float, message: str) -> tuple[str, str, dict[str, Any]]:
    fields = {
        "event_id": f"{lead}:mail",
        "lead_id": lead,
        "occurred_at": at(minutes),
        "sequence_id": "s1",
        "step_index": 0,
        "variant": "a",
        "message_id": message,
    }
    return "email.outbound", "EmailSent", example("EmailSent", "first_email", **fields)


def opened(lead: str, minutes: float, message: str) -> tuple[str, str, dict[str, Any]]:
    fields = {
        "event_id": f"{lead}:open",
        "lead_id": lead,
        "occurred_at": at(minutes),
        "type": "email_open",
        "attributes": {"message_id": message},
    }
    return "engagement.captured", "EngagementEvent", example("EngagementEvent", "full", **fields)


def enrolment(lead: str, n: int, change: str, reason: str | None = None) -> tuple[str, str, dict[str, Any]]:
    fields = {
        "event_id": f"{lead}:enr{n}",
        "lead_id": lead,
        "occurred_at": at(2 + n),
        "sequence_id": "s1",
        "change": change,
        "reason": reason,
    }
    return "nurture.enrolments", "EnrolmentChanged", example("EnrolmentChanged", "enrolled", **fields)


def called(lead: str, minutes: float) -> tuple[str, str, dict[str, Any]]:
    """The rep logged a call: a first touch without an email."""
    fields = {"event_id": f"{lead}:call", "lead_id": lead, "occurred_at": at(minutes), "type": "call_logged"}
    return "engagement.captured", "EngagementEvent", example("EngagementEvent", "call_logged", **fields)


def deal(
    opp: str, version: int, minutes: float, *, lead: str | None, owner: str, status: str = "open", **fields: Any
) -> tuple[str, str, dict[str, Any]]:
    closed = at(minutes) if status != "open" else None
    base = {
        "event_id": f"{opp}:v{version}",
        "opportunity_id": opp,
        "occurred_at": at(minutes),
        "version": version,
        "owner_id": owner,
        "lead_id": lead,
        "status": status,
        "created_at": at(fields.pop("opened", minutes)),
        "closed_at": closed,
        "stage_history": [],
    }
    return "opportunities.changed", "OpportunityChanged", example("OpportunityChanged", "opened", **base, **fields)


def proposal(opp: str, minutes: float) -> tuple[str, str, dict[str, Any]]:
    fields = {"event_id": f"{opp}:p1", "opportunity_id": opp, "occurred_at": at(minutes)}
    return "proposals.generated", "ProposalGenerated", example("ProposalGenerated", "generated", **fields)


def money(stage: str, amount: str, probability: str, category: str, close: str) -> dict[str, Any]:
    return {
        "stage": stage,
        "amount": amount,
        "probability": probability,
        "forecast_category": category,
        "close_date": close,
    }


SCRIPT = [
    captured("L1", 0, "web_form"),
    scored("L1", 1, "A"),
    qualified("L1", 1.5, "A"),
    assigned("L1", 2, "r1", "A", 0),
    emailed("L1", 4, "m1"),
    opened("L1", 5, "m1"),
    captured("L2", 0, "referral"),
    scored("L2", 1, "B"),
    assigned("L2", 3, "r2", "B", 0),
    captured("L3", 0, "web_form"),
    captured("L4", 0, "paid_ads"),
    qualified("L4", 5, "A"),
    assigned("L4", 10, "r1", "A", 0),
    emailed("L4", 130, "m4"),
    deal("O1", 1, 30, lead="L1", owner="r1", **money("discovery", "10000.00", "0.20", "Pipeline", "2026-11-15")),
    proposal("O1", 40),
    deal(
        "O1",
        2,
        60,
        lead="L1",
        owner="r1",
        status="won",
        opened=30,
        **money("won", "12000.00", "1", "Closed", "2026-11-15"),
    ),
    deal("O2", 1, 35, lead="L2", owner="r2", **money("proposal", "5000.00", "0.60", "Best Case", "2026-12-01")),
    deal("O3", 1, 20, lead=None, owner="r1", status="lost", **money("lost", "3000.00", "0", "Omitted", "2026-10-20")),
    enrolment("L1", 0, "enrolled"),
    enrolment("L1", 1, "exited", "email_reply"),
    called("L2", 6),
]
EXPECTED_FUNNEL = {
    "captured": 4,
    "scored": 3,
    "qualified": 3,
    "assigned": 3,
    "contacted": 3,
    "opportunity": 2,
    "proposal": 1,
    "won": 1,
    "lost": 0,
}


@pytest.fixture(scope="module")
def stack(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = Stack(infra, tmp_path_factory.mktemp("analytics"), extra_env=FLUSH_ENV)
    stack.start("analytics")
    for topic, record, value in SCRIPT:
        key = (
            value.get("lead_id")
            if topic.startswith(("leads", "email", "engagement", "nurture"))
            else value["opportunity_id"]
        )
        stack.produce(topic, record, value, key)
    yield stack
    stack.close()


def get(service: ServiceProcess, path: str) -> Any:
    with urllib.request.urlopen(service.url(path), timeout=10) as response:
        return json.loads(response.read())


def eventually(probe: Callable[[], Any], check: Callable[[Any], bool], seconds: float = 45) -> Any:
    deadline = time.monotonic() + seconds
    value = None
    while time.monotonic() < deadline:
        value = probe()
        if check(value):
            return value
        time.sleep(0.3)
    return value


def funnel_counts(service: ServiceProcess, query: str = "") -> dict[str, int]:
    groups = get(service, f"/v1/funnel{query}")["groups"]
    return groups[0]["counts"] if groups else {}


def settled(stack: Stack) -> dict[str, int]:
    """Wait until the whole script is counted: the funnel can be complete before the last deal is."""
    service = stack.services["analytics"]
    eventually(lambda: get(service, "/v1/forecast?period=2026-Q4"), lambda f: f["raw_total"] == "5000.00")
    eventually(lambda: get(service, "/v1/speed-to-lead")["assignment_to_first_touch"]["count"], lambda n: n == 3)
    eventually(lambda: get(service, "/v1/sequences/s1/stats")["enrolments"]["changes"]["exited"], lambda n: n == 1)
    return eventually(lambda: funnel_counts(service), lambda c: c == EXPECTED_FUNNEL)  # type: ignore[no-any-return]


def test_funnel_counts_every_step_exactly(stack: Stack) -> None:
    """Four leads, two deals from leads: the funnel counts each lead once per step it passed."""
    assert settled(stack) == EXPECTED_FUNNEL
    service = stack.services["analytics"]
    by_source = {g["value"]: g["counts"]["captured"] for g in get(service, "/v1/funnel?by=source")["groups"]}
    assert by_source == {"web_form": 2, "referral": 1, "paid_ads": 1}
    assert funnel_counts(service, "?from=2026-10-05&to=2026-10-06") == EXPECTED_FUNNEL
    assert funnel_counts(service, "?from=2026-10-06&to=2026-10-07") == {}


def test_forecast_reps_speed_and_nurture_numbers(stack: Stack) -> None:
    """Forecast, rep leaderboard, speed histograms and nurture stats hold the scripted numbers."""
    settled(stack)
    service = stack.services["analytics"]
    forecast = get(service, "/v1/forecast?period=2026-Q4")
    assert (forecast["won"], forecast["raw_total"], forecast["weighted_total"]) == ("12000.00", "5000.00", "3000.00")
    assert forecast["categories"]["best_case"] == {"raw": "5000.00", "weighted": "3000.00"}
    reps = {r["rep_id"]: r for r in get(service, "/v1/reps")["reps"]}
    assert (reps["r1"]["leads_assigned"], reps["r1"]["open_load"], reps["r1"]["win_rate"]) == (2, 1, 0.5)
    assert (reps["r1"]["revenue_won"], reps["r1"]["opportunities_opened"]) == ("12000.00", 2)
    assert (reps["r2"]["leads_assigned"], reps["r2"]["open_load"], reps["r2"]["win_rate"]) == (1, 1, None)
    assert get(service, "/v1/reps/r2") == reps["r2"]
    speed = get(service, "/v1/speed-to-lead")
    # First touches: L1's email after 2 min, L4's after 2 h, L2's logged call after 3 min.
    assert speed["assignment_to_first_touch"]["count"] == 3
    assert speed["assignment_to_first_touch"]["sum_seconds"] == 120 + 7200 + 180
    assert speed["capture_to_assignment"]["count"] == 3
    assert speed["sla"] == {"A": {"met": 1, "breached": 1}, "B": {"met": 1, "breached": 0}}
    stats = get(service, "/v1/sequences/s1/stats")
    row = stats["rows"][0]
    assert (row["step"], row["variant"], row["counts"]["sent"], row["counts"]["opened"]) == (0, "a", 2, 1)
    enrolments = stats["enrolments"]
    assert (enrolments["changes"]["enrolled"], enrolments["changes"]["exited"], enrolments["in_progress"]) == (1, 1, 0)
    assert enrolments["exited_by_reason"] == {"email_reply": 1}


def test_metrics_parse_and_match_the_api(stack: Stack) -> None:
    """The Prometheus text parses and its totals equal the API's numbers."""
    settled(stack)
    service = stack.services["analytics"]
    samples = metrics(service)
    funnel = {step: 0.0 for step in EXPECTED_FUNNEL}
    for (name, labels), value in samples.items():
        if name == "salesflow_analytics_funnel_leads":
            funnel[dict(labels)["step"]] += value
    assert funnel == {step: float(n) for step, n in EXPECTED_FUNNEL.items()}
    assert samples["salesflow_analytics_won_amount", (("period", "2026-Q4"),)] == 12000.0
    pipeline = (("category", "best_case"), ("period", "2026-Q4"))
    assert samples["salesflow_analytics_pipeline_amount", pipeline] == 5000.0
    assert samples["salesflow_analytics_pipeline_weighted_amount", pipeline] == 3000.0
    assert samples["salesflow_analytics_rep_open_leads", (("rep", "r1"),)] == 1.0
    assert samples["salesflow_analytics_speed_to_lead_seconds_count", ()] == 3.0
    assert samples["salesflow_analytics_speed_to_lead_seconds_sum", ()] == 7500.0
    assert samples["salesflow_analytics_funnel_leads_by_rep", (("rep", "r1"), ("step", "won"))] == 1.0
    assert samples["salesflow_analytics_pipeline_deals", (("stage", "proposal"),)] == 1.0


def consumed(service: ServiceProcess) -> float:
    return sum(v for (name, _), v in metrics(service).items() if name == "salesflow_analytics_events_in_total")


def test_duplicates_change_nothing(stack: Stack) -> None:
    """Re-delivered lead, email, engagement and deal records leave every number as it was."""
    settled(stack)
    service = stack.services["analytics"]
    before = {p: get(service, p) for p in ("/v1/reps", "/v1/speed-to-lead", "/v1/sequences/s1/stats")}
    seen = consumed(service)
    again = [SCRIPT[3], SCRIPT[4], SCRIPT[5], SCRIPT[16], SCRIPT[15]]
    for topic, record, value in again:
        key = (
            value.get("lead_id")
            if topic.startswith(("leads", "email", "engagement", "nurture"))
            else value["opportunity_id"]
        )
        stack.produce(topic, record, value, key)
    eventually(lambda: consumed(service), lambda n: n >= seen + len(again))
    time.sleep(1.5)  # several publish intervals
    assert funnel_counts(service) == EXPECTED_FUNNEL
    assert {p: get(service, p) for p in before} == before


def test_killed_worker_recovers_the_same_numbers(stack: Stack) -> None:
    """After SIGKILL and restart the tables come back from the changelogs: same API and /metrics
    numbers, and a new lead is counted on top of them."""
    settled(stack)
    service = stack.services["analytics"]
    quiesce(service)
    paths = ("/v1/funnel", "/v1/reps", "/v1/speed-to-lead", "/v1/forecast?period=2026-Q4")
    before = {p: numbers(service, p) for p in paths}
    funnel_metric = {k: v for k, v in metrics(service).items() if k[0] == "salesflow_analytics_funnel_leads"}
    service.kill()
    # Wipe the read model: after the restart it can only come back from the recovered tables.
    wipe_read_model(stack)
    stack.restart("analytics")
    assert eventually(lambda: get(service, "/v1/funnel"), lambda b: b == before["/v1/funnel"]) == before["/v1/funnel"]
    assert {p: numbers(service, p) for p in paths} == before
    assert {k: v for k, v in metrics(service).items() if k[0] == "salesflow_analytics_funnel_leads"} == funnel_metric
    topic, record, value = captured("L5", 20, "webinar")
    stack.produce(topic, record, value, "L5")
    expected = EXPECTED_FUNNEL | {"captured": 5}
    assert eventually(lambda: funnel_counts(service), lambda c: c == expected) == expected
    assert "ConsistencyError" not in Path(service.log_path).read_text()


def quiesce(service: ServiceProcess, quiet: float = 3.0) -> None:
    """Wait until nothing was consumed for `quiet` seconds, so offsets and changelogs are flushed.

    Observed on the local broker: a SIGKILL in the middle of changelog writes can leave a
    changelog's reported end offset too low, which Faust's recovery refuses (ConsistencyError).
    """
    last, since = consumed(service), time.monotonic()
    while time.monotonic() - since < quiet:
        time.sleep(0.5)
        now = consumed(service)
        if now != last:
            last, since = now, time.monotonic()


def numbers(service: ServiceProcess, path: str) -> Any:
    """An API answer without the run rate, which moves with the clock."""
    body = get(service, path)
    return {k: v for k, v in body.items() if k != "run_rate"}


def wipe_read_model(stack: Stack) -> None:
    import redis

    client = redis.Redis.from_url(stack.infra.redis_url)
    keys = list(client.scan_iter(match=f"{stack.prefix}sf:analytics:totals:*", count=10_000))
    if keys:
        client.delete(*keys)
    client.close()
