"""ingest and scoring as real processes on the real broker and Redis."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.integration.harness import API_KEY, Infra, Stack
from tests.integration.sealed import opened


@pytest.fixture(scope="module")
def spine(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = Stack(infra, tmp_path_factory.mktemp("spine"))
    stack.start("ingest", "scoring")
    yield stack
    stack.close()


def post(stack: Stack, path: str, body: Any, key: str = API_KEY) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        stack.services["ingest"].url(path),
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def lead(**overrides: Any) -> dict[str, Any]:
    return {
        "event_id": uuid.uuid4().hex,
        "source": "web_form",
        "email": f"{uuid.uuid4().hex[:8]}@acme-robotics.example",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "job_title": "VP of Sales",
        "company": "Acme Robotics",
        "employees": 1200,
        "country": "US",
        "industry": "Software",
        "product_interest": "crm",
    } | overrides


def test_http_lead_is_captured_and_scored_with_reasons(spine: Stack) -> None:
    """A lead posted over HTTP reaches leads.captured and leads.scored with an explanation."""
    status, body = post(spine, "/v1/leads", lead())
    assert status == 202 and body["duplicate"] is False
    reader = spine.consumer("leads.captured", "leads.scored")
    seen = reader.poll_until(
        lambda s: {t for t, v, _ in s if v["lead_id"] == body["lead_id"]} == {"leads.captured", "leads.scored"}
    )
    scored = [v for t, v, _ in seen if t == "leads.scored" and v["lead_id"] == body["lead_id"]]
    assert scored, "no leads.scored record for the lead"
    assert 0 <= scored[0]["score"] <= 100 and scored[0]["explanation"]
    assert any(f["name"].startswith("fit.") for f in scored[0]["explanation"])
    captured = [v for t, v, _ in seen if t == "leads.captured" and v["lead_id"] == body["lead_id"]]
    assert captured[0]["company_domain"] == "acme-robotics.example"
    reader.close()


def test_resent_event_id_is_answered_with_the_same_lead_and_captured_once(spine: Stack) -> None:
    """A re-sent event_id answers duplicate with the first lead_id and is captured only once."""
    submission = lead()
    first = post(spine, "/v1/leads", submission)[1]
    second = post(spine, "/v1/leads", submission)[1]
    assert second == first | {"duplicate": True}
    reader = spine.consumer("leads.captured")
    reader.poll_until(lambda s: False, seconds=4)
    assert [v["event_id"] for v in reader.values("leads.captured")].count(submission["event_id"]) == 1
    reader.close()


def test_same_email_is_the_same_lead(spine: Stack) -> None:
    """Two submissions with one email (in any case) resolve to one lead_id."""
    email = f"{uuid.uuid4().hex[:8]}@globex.example"
    first = post(spine, "/v1/leads", lead(email=email))[1]
    second = post(spine, "/v1/leads", lead(email=email.upper()))[1]
    assert first["lead_id"] == second["lead_id"] and second["duplicate"] is False


def test_http_errors_name_the_problem(spine: Stack) -> None:
    """Bad input gets 422 naming each field, 401 without a key, 400 for malformed JSON, 413 when too big."""
    status, body = post(spine, "/v1/leads", {"source": "fax", "email": "nope", "country": "XX"})
    assert status == 422
    assert {e["field"] for e in body["errors"]} >= {"source", "email", "country"}
    assert post(spine, "/v1/leads", lead(), key="wrong")[0] == 401
    request = urllib.request.Request(
        spine.services["ingest"].url("/v1/leads"), data=b"{nope", headers={"Authorization": f"Bearer {API_KEY}"}
    )
    with pytest.raises(urllib.error.HTTPError) as malformed:
        urllib.request.urlopen(request, timeout=10)
    assert malformed.value.code == 400
    big = [lead(attributes={"pad": "x" * 1000}) for _ in range(1100)]
    assert post(spine, "/v1/leads", big)[0] == 413


def test_kafka_poison_pill_goes_to_dlq_and_next_record_flows(spine: Stack) -> None:
    """Junk on leads.inbound lands in dlq.ingest with its context; the next good lead is captured."""
    spine.produce_raw("leads.inbound", b"\x00garbage", key="poison")
    good = lead() | {"occurred_at": datetime.now(UTC)}
    spine.produce("leads.inbound", "LeadSubmitted", good)
    reader = spine.consumer("dlq.ingest", "leads.captured")
    seen = reader.poll_until(
        lambda s: (
            {t for t, _, _ in s} >= {"dlq.ingest", "leads.captured"}
            and any(t == "leads.captured" and v["event_id"] == good["event_id"] for t, v, _ in s)
        )
    )
    dead = [(v, dict(h)) for t, v, h in seen if t == "dlq.ingest"]
    assert dead and dead[0][0] == b"\x00garbage"
    headers = dead[0][1]
    assert headers["error.class"] == b"DecodeError" and headers["source.topic"] == b"leads.inbound"
    assert {"source.partition", "source.offset", "service", "failed.at", "error.message"} <= set(headers)
    assert any(v["event_id"] == good["event_id"] for v in reader.values("leads.captured"))
    reader.close()


def test_engagement_over_kafka_rescores_the_lead(spine: Stack) -> None:
    """An engagement event for a known email is captured with its lead_id and raises the score."""
    submission = lead()
    lead_id = post(spine, "/v1/leads", submission)[1]["lead_id"]
    event = {
        "event_id": uuid.uuid4().hex,
        "occurred_at": datetime.now(UTC),
        "email": submission["email"],
        "type": "demo_request",
        "attributes": {},
    }
    spine.produce("engagement.inbound", "EngagementEvent", event)
    reader = spine.consumer("leads.scored")

    # The two topics are consumed independently, so facts and engagement may arrive in either order;
    # wait for the score that has both.
    def complete(record: dict[str, Any]) -> bool:
        return (
            record["lead_id"] == lead_id
            and opened(spine, record)["email"] == submission["email"]
            and any(f.get("event_id") == event["event_id"] for f in record["explanation"])
        )

    seen = reader.poll_until(lambda s: any(complete(v) for _, v, _ in s), seconds=90)
    finals = [v for _, v, _ in seen if complete(v)]
    assert finals, f"no score of {lead_id} counts the engagement: {[v['lead_id'] for _, v, _ in seen]}"
    final = finals[0]
    demo = next(f for f in final["explanation"] if f.get("event_id") == event["event_id"])
    assert demo["points"] > 0 and final["engagement_score"] > 0
    assert final["score"] == min(100, max(0, final["fit_score"] + final["engagement_score"]))
    reader.close()
