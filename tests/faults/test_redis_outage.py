"""Redis unreachable (through the fault proxy): ingest refuses with 503, consumers wait, nothing is lost."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.faults.pipeline import Load, Readback, lead, spine_stack
from tests.faults.proxy import Direction, FaultProxy
from tests.faults.reconcile import Reconciliation, Sent, reconcile
from tests.integration.harness import API_KEY, Infra, ServiceProcess, Stack

pytestmark = pytest.mark.faults
Record = Callable[[Reconciliation], Reconciliation]
OUTAGE_SECONDS = 30
SPINE = ("ingest", "scoring", "routing")


@pytest.fixture
def proxied(infra: Infra, tmp_path: Path) -> Iterator[tuple[Stack, FaultProxy]]:
    proxy = FaultProxy(int(infra.redis_url.rsplit(":", 1)[1].split("/")[0]))
    proxy.start()
    stack = spine_stack(infra, tmp_path)
    stack.extra_env["REDIS_URL"] = proxy.url()
    yield stack, proxy
    stack.close()
    proxy.stop()


def post_leads(ingest: ServiceProcess, leads: list[dict[str, Any]]) -> tuple[int, dict[str, str], Any]:
    body = json.dumps([{k: v for k, v in value.items() if k != "occurred_at"} for value in leads]).encode()
    request = urllib.request.Request(ingest.url("/v1/leads"), data=body, headers={"Authorization": f"Bearer {API_KEY}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read() or b"{}")


def readiness(service: ServiceProcess) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(service.url("/readyz"), timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def wait_for(condition: Callable[[], bool], seconds: float, message: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(message)
        time.sleep(0.5)


def test_redis_outage_refuses_http_pauses_consumers_and_loses_nothing(
    proxied: tuple[Stack, FaultProxy], record: Record
) -> None:
    """30 s without Redis: 503 + Retry-After, readiness false then true, every lead accounted for."""
    stack, proxy = proxied
    stack.start(*SPINE)
    load = Load(stack, per_second=10)
    load.start()
    time.sleep(5)
    proxy.cut()
    cut_at = time.monotonic()
    refused: list[dict[str, Any]] = []
    answers: list[tuple[int, dict[str, str]]] = []
    while time.monotonic() - cut_at < OUTAGE_SECONDS:
        batch = [lead("hot") for _ in range(3)]
        status, headers, _ = post_leads(stack.services["ingest"], batch)
        answers.append((status, headers))
        refused += batch if status == 503 else []
        time.sleep(2)
    during = {name: readiness(stack.services[name]) for name in SPINE}
    proxy.heal()
    healed_at = time.monotonic()
    wait_for(lambda: all(readiness(stack.services[n])[0] == 200 for n in SPINE), 60, "not ready again")
    recovery_seconds = time.monotonic() - healed_at
    # A client that honours Retry-After sends the refused batch again.
    status, _, _ = post_leads(stack.services["ingest"], refused)
    time.sleep(5)
    sent = load.stop() + [Sent(v["event_id"], v["email"]) for v in refused]

    assert answers and {s for s, _ in answers} == {503}, f"ingest answered {answers} without Redis"
    assert all(h.get("Retry-After") for _, h in answers)
    assert status == 202
    for name, (code, body) in during.items():
        assert code == 503 and body["checks"]["redis"] is False, f"{name} stayed ready without Redis"
    assert recovery_seconds < 30
    reader = Readback(stack)
    result = record(reconcile("redis down 30 s", sent, reader.wait_for(sent, 120)))
    reader.close()
    assert (result.lost, result.unseen, result.duplicates) == (0, 0, 0), f"missing: {result.missing[:10]}"


def test_a_lead_in_flight_while_redis_replies_are_lost_is_captured_once(proxied: tuple[Stack, FaultProxy]) -> None:
    """Redis replies vanish (a black hole, not a refusal) while a lead is in flight: it is retried, then captured once.

    A black hole from the start swallows redis-py's handshake first; the claim script's own lost
    reply is the next test's.
    """
    stack, proxy = proxied
    stack.start("ingest")
    value = lead("hot")
    proxy.drop(Direction.DOWNSTREAM)
    stack.produce("leads.inbound", "LeadSubmitted", value, key=value["email"])
    time.sleep(6)  # the claim's 2 s socket timeout passes at least once: the record is retried
    proxy.heal()
    reader = Readback(stack, ("leads.captured",))
    captured: list[Any] = []
    deadline = time.monotonic() + 20
    while not captured and time.monotonic() < deadline:
        reader.poll(1)
        captured = [v for v in reader.values("leads.captured") if v["event_id"] == value["event_id"]]
    reader.close()
    assert len(captured) == 1, f"leads.captured holds {len(captured)} records of the lead"


def test_a_lost_claim_reply_is_recognised_as_our_own_claim_on_retry(proxied: tuple[Stack, FaultProxy]) -> None:
    """The claim script runs in Redis but its reply is lost: the retried record finds the pending
    claim, recognises it as its own and captures the lead once (it used to read as a duplicate)."""
    stack, proxy = proxied
    stack.start("ingest")
    value = lead("hot")
    proxy.lose_replies_after(b"EVALSHA")
    stack.produce("leads.inbound", "LeadSubmitted", value, key=value["email"])
    wait_for(lambda: proxy.faults.tripped, 20, "ingest never sent the claim script")
    time.sleep(3)  # past the 2 s socket timeout: the reply is lost for good and the record is retried
    proxy.heal()
    reader = Readback(stack, ("leads.captured",))
    captured: list[Any] = []
    deadline = time.monotonic() + 30
    while not captured and time.monotonic() < deadline:
        reader.poll(1)
        captured = [v for v in reader.values("leads.captured") if v["event_id"] == value["event_id"]]
    reader.poll(3)  # a second capture would show up here
    captured = [v for v in reader.values("leads.captured") if v["event_id"] == value["event_id"]]
    reader.close()
    assert len(captured) == 1, f"leads.captured holds {len(captured)} records of the lead"
