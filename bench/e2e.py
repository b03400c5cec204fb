"""End to end: ingest → scoring → routing under stepped offered loads on leads.inbound.

Latency is the leads.assigned record's timestamp minus the moment the bench produced the lead,
joined by email (the workload's emails are unique). Stepping stops at the first load that does
not drain: every higher load would only queue behind it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from confluent_kafka import Message

from bench.records import Lead, lead_submitted, workload_leads
from bench.stack import Infra, Namespace, ServiceProcess
from bench.stats import rate
from bench.topic_io import TopicCounter, create_producer, produce_paced
from shared.avro_codec import AvroCodec, DecodeError, create_codec
from tools.reps import DEMO_ROSTER, publish_reps

SPINE = ("ingest", "scoring", "routing")


@dataclass(frozen=True)
class LoadRun:
    """One run at one offered load."""

    offered: int
    submitted: int
    achieved_per_second: float
    latencies_ms: tuple[float, ...]
    qualified: int
    drained: bool


@dataclass
class Arrivals:
    """What came out of the spine, by email, with each record's timestamp (ms)."""

    codec: AvroCodec
    prefix: str
    scored: dict[str, int] = field(default_factory=dict)
    qualified: set[str] = field(default_factory=set)
    assigned: dict[str, int] = field(default_factory=dict)

    def on_message(self, message: Message) -> None:
        try:
            _, value = self.codec.decode(message.value())
        except DecodeError:
            return
        topic, email, stamp = message.topic().removeprefix(self.prefix), value["email"], message.timestamp()[1]
        if topic == "leads.scored":
            self.scored.setdefault(email, stamp)
        elif topic == "leads.qualified":
            self.qualified.add(email)
        else:
            self.assigned.setdefault(email, stamp)

    def done(self, emails: set[str]) -> bool:
        """Every lead was scored and every qualified one assigned."""
        return emails <= self.scored.keys() and (self.qualified & emails) <= self.assigned.keys()


@dataclass
class Spine:
    """The three services running on one namespace, with a reader on their outputs."""

    infra: Infra
    namespace: Namespace
    arrivals: Arrivals
    counter: TopicCounter
    seed: int = 1000

    @classmethod
    def start(cls, infra: Infra, scoring_env: dict[str, str]) -> Spine:
        namespace = Namespace(infra, "e2e", dict(scoring_env))
        publish_reps(_roster(), prefix=namespace.prefix, env={"KAFKA_BOOTSTRAP_SERVERS": infra.bootstrap})
        for name in SPINE:
            namespace.start(name, wait=False)
        for service in namespace.services:
            service.wait_ready()
        arrivals = Arrivals(create_codec(), namespace.prefix)
        topics = [namespace.topic(t) for t in ("leads.scored", "leads.qualified", "leads.assigned")]
        return cls(infra, namespace, arrivals, TopicCounter(infra, topics, arrivals.on_message))

    @property
    def services(self) -> list[ServiceProcess]:
        return self.namespace.services

    def run(self, offered: int, seconds: float, drain_seconds: float) -> LoadRun:
        """Offer `offered` leads/s for `seconds`, then wait up to `drain_seconds` for the spine to finish."""
        self.seed += 1
        leads = workload_leads(self.seed, max(1, int(offered * seconds)), datetime.now(UTC))
        sent_at = self._offer(leads, offered)
        emails = {lead.email for lead in leads if lead.valid and not lead.duplicate}
        drained = self.counter.wait_for(10**12, drain_seconds, lambda: _stop_if(self.arrivals.done(emails)))
        return self._summarise(offered, leads, sent_at, emails, drained)

    def _offer(self, leads: list[Lead], offered: int) -> dict[str, float]:
        codec, now = create_codec(), datetime.now(UTC)
        records = [(lead.email.encode(), codec.encode("LeadSubmitted", lead_submitted(lead, now))) for lead in leads]
        sent_at: dict[str, float] = {}

        def on_sent(index: int, at: float) -> None:
            sent_at.setdefault(leads[index].email, at * 1000)

        produce_paced(create_producer(self.infra, linger_ms=1), self.namespace.topic("leads.inbound"), records, offered, on_sent)
        return sent_at

    def _summarise(
        self, offered: int, leads: list[Lead], sent_at: dict[str, float], emails: set[str], drained: bool
    ) -> LoadRun:
        assigned = {e: self.arrivals.assigned[e] for e in emails if e in self.arrivals.assigned}
        latencies = tuple(sorted(max(0.0, stamp - sent_at[e]) for e, stamp in assigned.items()))
        scored = [self.arrivals.scored[e] for e in emails if e in self.arrivals.scored]
        first = min(sent_at.values())
        done_share = len(scored) / len(emails) if emails else 1.0
        window = (max(scored) - first) / 1000 if scored else 0.0
        achieved = rate(round(len(leads) * done_share), window)
        return LoadRun(offered, len(leads), achieved, latencies, len(self.arrivals.qualified & emails), drained)

    def close(self) -> None:
        self.counter.close()
        self.namespace.close()


class _Drained(Exception):
    pass


def _stop_if(done: bool) -> None:
    if done:
        raise _Drained


def _roster() -> list[object]:
    from services.routing.roster import load_roster

    return list(load_roster(DEMO_ROSTER))
