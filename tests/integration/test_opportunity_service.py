"""The opportunity service on the real broker and Redis: conversion, commands, rejections, alerts, DLQ."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.integration.harness import API_KEY, Infra, ServiceProcess, Stack

# Qualification stalls after ~3 s; every other open stage takes a month, so only it alerts.
STALL_SECONDS = 3
PIPELINES = f"""
lost_reasons: [price, competitor]
pipelines:
  - name: b2b
    stages:
      - {{name: qualification, order: 10, probability: "0.10", forecast_category: Pipeline, type: open,
          days_to_stall: {STALL_SECONDS / 86400:.8f}}}
      - {{name: discovery, order: 20, probability: "0.20", forecast_category: Pipeline, type: open, days_to_stall: 30}}
      - {{name: proposal, order: 40, probability: "0.60", forecast_category: Best Case, type: open, days_to_stall: 30}}
      - {{name: closed_won, order: 60, probability: "1", forecast_category: Closed, type: won}}
      - {{name: closed_lost, order: 70, probability: "0", forecast_category: Omitted, type: lost}}
"""
Seen = list[tuple[str, Any, list[tuple[str, bytes]]]]


@pytest.fixture(scope="module")
def stack(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("opportunity")
    pipelines = workdir / "pipelines.yaml"
    pipelines.write_text(PIPELINES)
    env = {"OPPORTUNITY_PIPELINES_PATH": str(pipelines), "OPPORTUNITY_ALERT_INTERVAL_SECONDS": "0.5"}
    stack = Stack(infra, workdir, extra_env=env)
    stack.start("opportunity")
    yield stack
    stack.close()


def call(service: ServiceProcess, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        service.url(path),
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def open_body(opportunity_id: str, owner: str = "rep-1") -> dict[str, Any]:
    return {
        "opportunity_id": opportunity_id,
        "account_id": "acct-1",
        "amount": "10000.00",
        "currency": "EUR",
        "close_date": "2030-06-30",
        "owner_id": owner,
    }


def changed_for(seen: Seen, opportunity_id: str) -> list[dict[str, Any]]:
    return [v for t, v, _ in seen if t == "opportunities.changed" and v["opportunity_id"] == opportunity_id]


def wait_changed(stack: Stack, opportunity_id: str, predicate: Any, seconds: float = 30) -> dict[str, Any]:
    reader = stack.consumer("opportunities.changed")
    try:
        seen = reader.poll_until(lambda s: any(predicate(v) for v in changed_for(s, opportunity_id)), seconds)
        matches = [v for v in changed_for(seen, opportunity_id) if predicate(v)]
        assert matches, f"no matching change for {opportunity_id}:\n{stack.services['opportunity'].log_tail()}"
        return matches[-1]
    finally:
        reader.close()


def open_deal(stack: Stack, opportunity_id: str, owner: str = "rep-1") -> dict[str, Any]:
    status, answer = call(stack.services["opportunity"], "POST", "/v1/opportunities", open_body(opportunity_id, owner))
    assert (status, answer["opportunity_id"]) == (202, opportunity_id)
    return wait_changed(stack, opportunity_id, lambda v: v["command_type"] == "open")


def test_converted_lead_becomes_a_deal_that_moves_to_proposal(stack: Stack) -> None:
    """A LeadConverted opens the deal; a stage command moves it to proposal; events and GET agree."""
    service, lead_id, owner = stack.services["opportunity"], unique("lead"), unique("rep")
    conversion = {
        "event_id": unique("conv"),
        "occurred_at": datetime.now(UTC),
        "lead_id": lead_id,
        "opportunity_id": None,
        "account_id": "acct-9",
        "amount": "48000.00",
        "currency": "EUR",
        "close_date": "2030-06-30",
        "owner_id": owner,
        "pipeline": None,
        "stage": None,
    }
    stack.produce("leads.converted", "LeadConverted", conversion, key=lead_id)
    opportunity_id = f"opp_{lead_id}"
    opened = wait_changed(stack, opportunity_id, lambda v: v["command_type"] == "open")
    assert (opened["lead_id"], opened["stage"], opened["amount"]) == (lead_id, "qualification", "48000.00")

    status, answer = call(
        service, "POST", f"/v1/opportunities/{opportunity_id}/commands", {"type": "change_stage", "stage": "proposal"}
    )
    assert status == 202 and answer["command_id"]
    moved = wait_changed(stack, opportunity_id, lambda v: v["stage"] == "proposal")
    assert moved["changed"] and "stage" in moved["changed"] and moved["expected_revenue"] == "28800.00"
    assert [h["stage"] for h in moved["stage_history"]] == ["qualification", "proposal"]

    status, deal = call(service, "GET", f"/v1/opportunities/{opportunity_id}")
    assert status == 200
    assert (deal["stage"], deal["version"], deal["expected_revenue"]) == ("proposal", moved["version"], "28800.00")
    assert [h["stage"] for h in deal["stage_history"]] == ["qualification", "proposal"]
    assert set(deal["time_in_stage_seconds"]) == {"qualification", "proposal"}
    status, listing = call(service, "GET", f"/v1/opportunities?owner={owner}&stage=proposal")
    assert status == 200 and [d["opportunity_id"] for d in listing["opportunities"]] == [opportunity_id]
    assert call(service, "GET", f"/v1/opportunities?owner={owner}&stage=qualification")[1]["count"] == 0


def test_http_conversion_emits_lead_converted_and_opens_the_deal(stack: Stack) -> None:
    """POST /v1/leads/{id}/convert publishes LeadConverted (for nurture and analytics) and opens the deal."""
    lead_id = unique("lead")
    body = {"account_id": "acct-2", "amount": 1200, "currency": "USD", "close_date": "2030-01-31", "owner_id": "rep-2"}
    status, answer = call(stack.services["opportunity"], "POST", f"/v1/leads/{lead_id}/convert", body)
    assert (status, answer["opportunity_id"]) == (202, f"opp_{lead_id}")
    opened = wait_changed(stack, answer["opportunity_id"], lambda v: v["command_type"] == "open")
    assert (opened["currency"], opened["amount"]) == ("USD", "1200")
    reader = stack.consumer("leads.converted")
    seen = reader.poll_until(lambda s: any(v["lead_id"] == lead_id for _, v, _ in s), 10)
    reader.close()
    assert [v["event_id"] for _, v, _ in seen if v["lead_id"] == lead_id] == [answer["event_id"]]


def test_illegal_transition_is_rejected_and_changes_nothing(stack: Stack) -> None:
    """Moving straight to a closed stage is refused with a CommandRejected; the deal stays as it was."""
    service, opportunity_id = stack.services["opportunity"], unique("opp")
    opened = open_deal(stack, opportunity_id)
    status, answer = call(
        service, "POST", f"/v1/opportunities/{opportunity_id}/commands", {"type": "change_stage", "stage": "closed_won"}
    )
    assert status == 202
    reader = stack.consumer("opportunities.rejected", "opportunities.changed")
    seen = reader.poll_until(
        lambda s: any(t == "opportunities.rejected" and v["command_id"] == answer["command_id"] for t, v, _ in s), 30
    )
    reader.close()
    rejections = [v for t, v, _ in seen if t == "opportunities.rejected" and v["command_id"] == answer["command_id"]]
    assert [r["reason"] for r in rejections] == ["illegal_transition"]
    assert not [v for v in changed_for(seen, opportunity_id) if v["command_id"] == answer["command_id"]]
    status, deal = call(service, "GET", f"/v1/opportunities/{opportunity_id}")
    assert (deal["stage"], deal["version"]) == ("qualification", opened["version"])


def test_stalled_deal_raises_exactly_one_alert(stack: Stack) -> None:
    """A deal untouched past its stage's threshold alerts once, however many timer ticks follow."""
    opportunity_id = unique("opp")
    open_deal(stack, opportunity_id)
    reader = stack.consumer("opportunities.alerts")

    def alerts(seen: Seen) -> list[dict[str, Any]]:
        return [v for t, v, _ in seen if t == "opportunities.alerts" and v["opportunity_id"] == opportunity_id]

    reader.poll_until(lambda s: bool(alerts(s)), STALL_SECONDS + 20)
    # Ten more ticks at 0.5 s: none may raise the same alert again.
    reader.poll_until(lambda s: len(alerts(s)) > 1, 5)
    reader.close()
    raised = alerts(reader.seen)
    assert [(a["kind"], a["stage"]) for a in raised] == [("stalled", "qualification")]


def test_poison_commands_go_to_the_dlq_and_the_next_good_one_applies(stack: Stack) -> None:
    """Undecodable bytes and a command missing its stage land in dlq.opportunity; the deal still moves."""
    opportunity_id = unique("opp")
    open_deal(stack, opportunity_id)
    stack.produce_raw("opportunities.commands", b"\x00not avro at all", key=opportunity_id)
    poison = {
        "event_id": unique("cmd"),
        "occurred_at": datetime.now(UTC),
        "opportunity_id": opportunity_id,
        "type": "change_stage",
    }
    stack.produce("opportunities.commands", "OpportunityCommand", poison, key=opportunity_id)
    status, _ = call(
        stack.services["opportunity"],
        "POST",
        f"/v1/opportunities/{opportunity_id}/commands",
        {"type": "change_stage", "stage": "discovery"},
    )
    assert status == 202
    moved = wait_changed(stack, opportunity_id, lambda v: v["stage"] == "discovery")
    assert moved["version"] == 2
    reader = stack.consumer("dlq.opportunity")
    seen = reader.poll_until(lambda s: len(s) >= 2, 20)
    reader.close()
    errors = sorted(dict(headers)["error.class"].decode() for _, _, headers in seen)
    assert errors == ["DecodeError", "InvalidRecord"]


def test_unauthorised_and_invalid_requests_are_refused(stack: Stack) -> None:
    """Without the key the API answers 401; a command its type cannot run is 422 and never produced."""
    service = stack.services["opportunity"]
    request = urllib.request.Request(service.url("/v1/opportunities/x"), method="GET")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 401
    status, answer = call(service, "POST", "/v1/opportunities/x/commands", {"type": "close_lost"})
    assert status == 422 and "reason" in answer["error"]
    assert call(service, "POST", "/v1/opportunities/x/commands", {"type": "mark_alerted"})[0] == 422
    assert call(service, "GET", "/v1/opportunities/nope")[0] == 404


def test_pipelines_file_is_the_test_one(stack: Stack) -> None:
    """The service runs the pipeline file from OPPORTUNITY_PIPELINES_PATH (no demo stage exists)."""
    opportunity_id = unique("opp")
    open_deal(stack, opportunity_id)
    status, answer = call(
        stack.services["opportunity"],
        "POST",
        f"/v1/opportunities/{opportunity_id}/commands",
        {"type": "change_stage", "stage": "demo"},
    )
    assert status == 202
    reader = stack.consumer("opportunities.rejected")
    seen = reader.poll_until(lambda s: any(v["command_id"] == answer["command_id"] for _, v, _ in s), 30)
    reader.close()
    assert [v["reason"] for _, v, _ in seen if v["command_id"] == answer["command_id"]] == ["unknown_stage"]


def test_seed_opens_the_demo_deals(stack: Stack) -> None:
    """python -m services.opportunity.seed opens the demo deals; running it twice applies nothing twice."""
    from services.opportunity.seed import DEMO_DEALS, seed

    env = {"KAFKA_BOOTSTRAP_SERVERS": stack.infra.bootstrap, "SALESFLOW_TOPIC_PREFIX": stack.prefix}
    assert seed(env) == seed(env) > len(DEMO_DEALS)
    # The test pipeline lacks the demo stage, so take a deal that only visits discovery.
    opportunity_id, *_, stages = next(d for d in DEMO_DEALS if d[-1] == ("discovery",))
    moved = wait_changed(stack, opportunity_id, lambda v: v["stage"] == stages[-1])
    status, listing = call(stack.services["opportunity"], "GET", f"/v1/opportunities/{opportunity_id}")
    assert status == 200 and listing["version"] == moved["version"] == len(stages) + 1
