"""Two nurture workers on the real broker and Redis: either answers for any lead's enrolments,
and step timers lost from Redis are re-armed from the table, each step still sent once."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import redis

from tests.integration.harness import Infra, ServiceProcess, Stack, free_port
from tests.integration.nurture_support import ALWAYS, Inbox, api, assign, running_nurture, wait_until
from tests.integration.nurture_support import inbox as inbox  # the fixture, used by name

REP = {"rep_id": "rep_replicas", "name": "Grace Hopper", "email": "grace.replicas@salesflow.example", "timezone": "UTC"}
FOLLOW_UP_SECONDS = 8
SEQUENCES = {
    "twin-rep": f"""
id: twin-rep
kind: rep
{ALWAYS}
steps:
  - {{id: intro, delay: 0 seconds, channel: email, subject: "Intro", text: "Hi {{{{ lead.first_name }}}}"}}
  - {{id: follow-up, delay: {FOLLOW_UP_SECONDS} seconds, channel: email, subject: "Follow-up", text: "Hi again"}}
""",
    "twin-marketing": f"""
id: twin-marketing
kind: marketing
{ALWAYS}
steps:
  - {{id: news, delay: 0 seconds, channel: email, subject: "News", text: "{{{{ unsubscribe_url }}}}"}}
""",
}


@pytest.fixture(scope="module")
def twins(infra: Infra, inbox: Inbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Two workers of one group (their own state dirs), so the lead partitions are split between them."""
    workdir = tmp_path_factory.mktemp("nurture-twins")
    settings = {
        "NURTURE_REP_SEQUENCE": "twin-rep",
        "NURTURE_MARKETING_SEQUENCE": "twin-marketing",
        "NURTURE_RECONCILE_INTERVAL_SECONDS": "2",
    }
    with running_nurture(infra, inbox, workdir, SEQUENCES, REP, **settings) as stack:
        port = free_port()
        env = stack.env_for("nurture", port) | {"SALESFLOW_DATA_DIR": str(workdir / "data-twin")}
        stack.services["twin"] = ServiceProcess("nurture", port, env, workdir / "twin.log")
        stack.services["twin"].start()
        stack.services["twin"].wait_ready(90)
        # Readiness needs partitions: once both answer, both own some.
        for name in ("nurture", "twin"):
            stack.services[name].wait_ready(90)
        yield stack


def sequences_of(stack: Stack, worker: str, lead_id: str) -> list[str]:
    status, body = api(stack.services[worker].url(""), "GET", f"/v1/leads/{lead_id}/enrolments")
    return [e["sequence_id"] for e in body["enrolments"]] if status == 200 else []


def test_either_worker_answers_for_every_lead(twins: Stack, inbox: Inbox) -> None:
    """Leads spread over both workers' partitions; GET enrolments answers the same on both, and 404
    for a lead nurture never saw."""
    leads = [assign(twins, rep_id=REP["rep_id"]) for _ in range(8)]
    for _, address in leads:
        assert inbox.wait_for(address, 1) != [], f"no first email for {address}"
    for lead_id, _ in leads:
        for worker in ("nurture", "twin"):
            answered = lambda w=worker, lead=lead_id: sequences_of(twins, w, lead) == ["twin-rep"]  # noqa: E731
            wait_until(answered, 10, f"{worker} does not answer for {lead_id}")
    url = twins.services["twin"].url("")
    assert api(url, "GET", "/v1/leads/lead_never_seen/enrolments")[0] == 404


def test_a_step_whose_timer_redis_lost_still_fires_exactly_once(twins: Stack, inbox: Inbox) -> None:
    """The timer set deleted between the intro and the follow-up: reconciliation re-arms the
    follow-up from the table, and it arrives once."""
    client = redis.Redis.from_url(twins.infra.redis_url)
    timers = f"{twins.prefix}sf:nurture:timers"
    lead_id, address = assign(twins, rep_id=REP["rep_id"])
    assert [str(m["Subject"]) for m in inbox.wait_for(address, 1)] == ["Intro"]
    wait_until(lambda: any(lead_id in m.decode() for m in client.zrange(timers, 0, -1)), 10, "no follow-up timer")
    client.delete(timers)
    assert [str(m["Subject"]) for m in inbox.wait_for(address, 2, seconds=FOLLOW_UP_SECONDS + 30)] == [
        "Intro",
        "Follow-up",
    ]
    time.sleep(5)  # a second firing would land within the reconcile interval
    received = inbox.to(address)
    assert [str(m["Subject"]) for m in received] == ["Intro", "Follow-up"]
    assert len({m["Message-ID"] for m in received}) == 2
