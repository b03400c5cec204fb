"""One stage alone on a backlog: events/s per process, CPU per 1,000 events and peak memory.

The clock starts at the stage's first output, so start-up and the group join are not counted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bench.records import (
    Lead,
    clean_leads,
    lead_assigned,
    lead_captured,
    lead_id_for,
    lead_qualified,
    lead_submitted,
    workload_leads,
    workload_with_engagement,
)
from bench.stack import Infra, Namespace, ServiceProcess, free_port, start_smtp_sink
from bench.stats import per_thousand, rate
from bench.topic_io import Keyed, TopicCounter, create_producer, produce_all, wait_for_topics
from services.routing.roster import load_roster
from shared.avro_codec import AvroCodec, create_codec
from tools.reps import DEMO_ROSTER

Inputs = Callable[[AvroCodec, int, int], tuple[list[Keyed], int]]


@dataclass(frozen=True)
class Stage:
    """A service fed from one topic; `inputs` builds the backlog and says how many outputs to expect.

    An output may be a topic the service itself creates (a table's changelog, for a service that
    emits nothing per event): it is counted once it exists.
    """

    name: str
    source: str
    outputs: tuple[str, ...]
    inputs: Inputs
    env: dict[str, str] = field(default_factory=dict)
    needs_roster: bool = False
    module: str = ""  # a process other than services.<name> (the relays)
    needs_smtp: bool = False  # a real SMTP server for the service to send to


@dataclass(frozen=True)
class StageRun:
    stage: str
    events: int
    seconds: float
    events_per_second: float
    cpu_seconds_per_1000: float
    peak_rss_mib: float
    complete: bool


def ingest_inputs(codec: AvroCodec, count: int, seed: int) -> tuple[list[Keyed], int]:
    """The realistic mix, duplicates and invalid records included: every unique event_id gives one output."""
    now = datetime.now(UTC)
    leads = workload_leads(seed, count, now)
    records: list[Keyed] = [
        (lead.email.encode(), codec.encode("LeadSubmitted", lead_submitted(lead, now))) for lead in leads
    ]
    return records, sum(1 for lead in leads if not lead.duplicate)


def engagement_inputs(codec: AvroCodec, count: int, seed: int) -> tuple[list[Keyed], int]:
    """The workload's engagement events (its bursts on the newest leads), for addresses ingest has
    not captured yet, so each first one also resolves a new lead id: every event gives one output."""
    mix = workload_with_engagement(seed, count, 2, datetime.now(UTC))
    events = [item for item in mix if not isinstance(item, Lead)][:count]
    return [(str(event["email"]).encode(), codec.encode("EngagementEvent", event)) for event in events], count


def scoring_inputs(codec: AvroCodec, count: int, seed: int) -> tuple[list[Keyed], int]:
    """Distinct valid leads as ingest captures them: each gives one leads.scored."""
    return _keyed_by_lead_id(codec, "LeadCaptured", lead_captured, count, seed), count


def routing_inputs(codec: AvroCodec, count: int, seed: int) -> tuple[list[Keyed], int]:
    """Distinct qualified leads: each gives one leads.assigned (a rep or the fallback queue)."""
    return _keyed_by_lead_id(codec, "LeadQualified", lead_qualified, count, seed), count


def nurture_inputs(codec: AvroCodec, count: int, seed: int) -> tuple[list[Keyed], int]:
    """Distinct leads assigned to the demo team's reps in turn: each enrols once (nurture.enrolments)."""
    now = datetime.now(UTC)
    reps = [rep.rep_id for rep in load_roster(DEMO_ROSTER)]
    leads = clean_leads(seed, count, now)
    return [
        (lead_id_for(lead).encode(), codec.encode("LeadAssigned", lead_assigned(lead, now, reps[i % len(reps)])))
        for i, lead in enumerate(leads)
    ], count


def _keyed_by_lead_id(
    codec: AvroCodec, record: str, build: Callable[[Lead, datetime], dict[str, Any]], count: int, seed: int
) -> list[Keyed]:
    now = datetime.now(UTC)
    return [
        (lead_id_for(lead).encode(), codec.encode(record, build(lead, now))) for lead in clean_leads(seed, count, now)
    ]


def spine_stages(scoring_env: dict[str, str]) -> tuple[Stage, ...]:
    return (
        Stage("ingest", "leads.inbound", ("leads.captured", "dlq.ingest"), ingest_inputs),
        Stage(
            "ingest-engagement",
            "engagement.inbound",
            ("engagement.captured", "dlq.ingest"),
            engagement_inputs,
            module="services.ingest",
        ),
        Stage("scoring", "leads.captured", ("leads.scored",), scoring_inputs, scoring_env),
        Stage("routing", "leads.qualified", ("leads.assigned",), routing_inputs, needs_roster=True),
    )


def downstream_stages() -> tuple[Stage, ...]:
    """The services past the spine. analytics emits nothing per event, so its leads table's
    changelog (one record per fold) is what is counted.

    nurture-steps is nurture's send path: each assigned lead enrols in the demo rep sequence, whose
    first step, an email, is due 5 s later; each email sent to the SMTP server is counted. No
    mailbox throttle, and a scheduler batch that does not cap the rate: the steps themselves are
    measured.
    """
    # Imported here: devstack reads its run dir at import, which ensure_infra may have just set.
    from tools.devstack import NURTURE_DEMO

    steps_env = NURTURE_DEMO | {"NURTURE_MAILBOX_CAPS": "", "NURTURE_TIMER_BATCH": "2000"}
    return (
        Stage("nurture", "leads.assigned", ("nurture.enrolments",), nurture_inputs, needs_roster=True),
        Stage(
            "nurture-steps",
            "leads.assigned",
            ("email.outbound",),
            nurture_inputs,
            steps_env,
            needs_roster=True,
            module="services.nurture",
            needs_smtp=True,
        ),
        Stage("analytics", "leads.captured", ("salesflow-analytics-leads-changelog",), scoring_inputs),
    )


def relay_stages() -> tuple[Stage, ...]:
    """The ceiling's relay inside Faust and inside the runtime (bench/relay.py), on scoring's input."""
    return tuple(
        Stage(
            f"{mode}-relay",
            "leads.captured",
            ("leads.scored",),
            scoring_inputs,
            {"RELAY_MODE": mode},
            module="bench.relay",
        )
        for mode in ("faust", "runtime")
    )


def prepare(infra: Infra, stage: Stage, count: int, seed: int, label: str) -> tuple[Namespace, int]:
    """A fresh namespace with the stage's backlog (and the roster and SMTP server it needs) in place."""
    smtp = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(free_port())} if stage.needs_smtp else {}
    namespace = Namespace(infra, label, dict(stage.env) | smtp)
    if stage.needs_roster:
        namespace.seed_roster()
    if smtp:
        namespace.add_process(start_smtp_sink(namespace, int(smtp["SMTP_PORT"])))
    records, expected = stage.inputs(create_codec(), count, seed)
    produce_all(create_producer(infra), namespace.topic(stage.source), records)
    return namespace, expected


def start_counted(infra: Infra, namespace: Namespace, stage: Stage) -> tuple[ServiceProcess, TopicCounter]:
    """The stage's service started on `namespace`, and a counter of its outputs once they exist."""
    service = namespace.start(stage.name, wait=False, module=stage.module)
    outputs = [namespace.topic(t) for t in stage.outputs]
    wait_for_topics(infra, outputs, 120, service.check_alive)
    return service, TopicCounter(infra, outputs)


def run_stage(infra: Infra, stage: Stage, count: int, seed: int, timeout: float = 180) -> StageRun:
    namespace, expected = prepare(infra, stage, count, seed, f"stage-{stage.name}")
    counter = None
    try:
        service, counter = start_counted(infra, namespace, stage)
        counter.wait_for(1, 90, service.check_alive)
        first = (service.sample(), counter.total)
        complete = counter.wait_for(expected, timeout, service.check_alive)
        last = service.sample()
        processed = counter.total - first[1]
        return StageRun(
            stage.name,
            counter.total,
            _span_seconds(counter),
            rate(counter.total - 1, _span_seconds(counter)),
            per_thousand(last.cpu_seconds - first[0].cpu_seconds, processed),
            last.peak_rss_mib,
            complete,
        )
    finally:
        if counter is not None:
            counter.close()
        namespace.close()


def _span_seconds(counter: TopicCounter) -> float:
    """From the first output record's timestamp to the last's: the stage's own working time."""
    if counter.first_timestamp_ms is None or counter.last_timestamp_ms is None:
        return 0.0
    return (counter.last_timestamp_ms - counter.first_timestamp_ms) / 1000
