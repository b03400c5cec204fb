"""A burst of assignments on the real broker and Redis: nurture reads which leads are erased and who
the reps are once per fetched batch, not once per lead, and an erased lead in the burst stays out."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.erasure_support import erase, report
from tests.integration.harness import Infra, Stack, metrics
from tests.integration.nurture_support import ALWAYS, Inbox, assigned, enrolment_changes, running_nurture
from tests.integration.nurture_support import inbox as inbox  # the fixture, used by name

REP = {"rep_id": "rep_batches", "name": "Grace Hopper", "email": "grace.batches@salesflow.example", "timezone": "UTC"}
# The first step is an hour away: the burst enrols and sends nothing, so its Redis calls are the enrolments'.
SEQUENCES = {
    "hour-rep": f"""
id: hour-rep
kind: rep
{ALWAYS}
steps:
  - {{id: intro, delay: 1 hours, channel: email, subject: "Intro", text: "Hi {{{{ lead.first_name }}}}"}}
""",
    "hour-marketing": f"""
id: hour-marketing
kind: marketing
{ALWAYS}
steps:
  - {{id: news, delay: 1 hours, channel: email, subject: "News", text: "{{{{ unsubscribe_url }}}}"}}
""",
}
BURST = 60
ROUND_TRIPS = "salesflow_nurture_redis_command_seconds_count"


@pytest.fixture(scope="module")
def nurture(infra: Infra, inbox: Inbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("nurture-batches")
    settings = {"NURTURE_REP_SEQUENCE": "hour-rep", "NURTURE_MARKETING_SEQUENCE": "hour-marketing"}
    with running_nurture(infra, inbox, workdir, SEQUENCES, REP, **settings) as stack:
        yield stack


def round_trips(stack: Stack) -> float:
    return metrics(stack.services["nurture"])[(ROUND_TRIPS, ())]


def test_a_burst_of_assignments_enrols_each_lead_with_fewer_round_trips_than_leads(nurture: Stack) -> None:
    erased = "lead_batch_erased"
    reader = nurture.consumer("subjects.erased")
    try:
        report(reader, erase(nurture, erased, "erased@analytical.example"), "nurture")
    finally:
        reader.close()
    lead_ids = [f"lead_batch_{n:03d}" for n in range(BURST)]
    burst = [assigned(lead_id, f"{lead_id}@analytical.example", REP["rep_id"]) for lead_id in lead_ids]
    burst.insert(BURST // 2, assigned(erased, "erased@analytical.example", REP["rep_id"]))
    before = round_trips(nurture)
    nurture.produce_many("leads.assigned", "LeadAssigned", burst, key_by="lead_id")
    changes = enrolment_changes(nurture, set(lead_ids), lambda seen: {c["lead_id"] for c in seen} >= set(lead_ids))
    after = round_trips(nurture)
    assert {c["lead_id"] for c in changes} == set(lead_ids)
    assert {(c["sequence_id"], c["change"]) for c in changes} == {("hour-rep", "enrolled")}
    # One lead at a time took three: the erasure check, the rep, the commit. Now the first two are
    # one per fetched batch; the scheduler's polls over the burst's few seconds add a handful.
    assert after - before < 2 * BURST, (before, after)
    later = enrolment_changes(nurture, {erased}, lambda seen: bool(seen), seconds=3)
    assert later == []
