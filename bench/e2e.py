"""End to end: ingest → scoring → routing under stepped offered loads of leads on leads.inbound,
each followed by engagement events (engagement.inbound) for the leads already sent.

Latency is the leads.assigned record's timestamp minus the moment the bench produced the lead,
joined by email (the workload's emails are unique). Stepping stops at the first load that does
not drain: every higher load would only queue behind it.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import redis
from confluent_kafka import Message

from bench.records import Lead, lead_submitted, workload_with_engagement
from bench.stack import Infra, Namespace, ServiceProcess
from bench.stats import percentile, rate
from bench.topic_io import TopicCounter, create_producer, produce_paced
from shared.avro_codec import AvroCodec, DecodeError, create_codec
from shared.config import LOCAL_REDIS
from shared.pii import is_sealed, open_sealed
from shared.pii_keys import key_name, loaded_key

SPINE = ("ingest", "scoring", "routing")
OUTPUTS = ("leads.captured", "leads.scored", "leads.qualified", "leads.assigned")


@dataclass(frozen=True)
class LoadRun:
    """One run at one offered load."""

    offered: int
    submitted: int
    achieved_per_second: float
    latencies_ms: tuple[float, ...]
    qualified: int
    drained: bool
    hops_p50_ms: dict[str, float]


@dataclass
class Arrivals:
    """What came out of the spine, by email, with each record's timestamp (ms)."""

    codec: AvroCodec
    prefix: str
    stamps: dict[str, dict[str, int]] = field(default_factory=lambda: {t: {} for t in OUTPUTS})
    redis_url: str = LOCAL_REDIS
    emails: dict[str, str] = field(default_factory=dict)

    def on_message(self, message: Message) -> None:
        try:
            _, value = self.codec.decode(message.value() or b"")
        except DecodeError:
            return
        topic = (message.topic() or "").removeprefix(self.prefix)
        self.stamps[topic].setdefault(self._email(value), message.timestamp()[1])

    @functools.cached_property
    def _redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis_url)

    def _email(self, value: Mapping[str, Any]) -> str:
        """The plain address: the spine's records carry it sealed with the lead's key (opened once per lead)."""
        email, lead_id = str(value["email"]), str(value["lead_id"])
        if is_sealed(email) and lead_id not in self.emails:
            stored = self._redis.get(key_name(f"{self.prefix}sf:", lead_id))
            key = loaded_key(lead_id, stored, None) if isinstance(stored, bytes) else None
            self.emails[lead_id] = open_sealed(key, lead_id, email) if key else email
        return self.emails.get(lead_id, email)

    @property
    def scored(self) -> dict[str, int]:
        return self.stamps["leads.scored"]

    @property
    def assigned(self) -> dict[str, int]:
        return self.stamps["leads.assigned"]

    @property
    def qualified(self) -> set[str]:
        return set(self.stamps["leads.qualified"])

    def done(self, emails: set[str]) -> bool:
        """Every lead was scored and every qualified one assigned."""
        qualified = emails & self.stamps["leads.qualified"].keys()
        return emails <= self.scored.keys() and qualified <= self.assigned.keys()

    def hops_p50_ms(self, sent_at: dict[str, float], emails: set[str]) -> dict[str, float]:
        """The median time each hop of the spine took, over the assigned leads among `emails`."""
        chain: list[tuple[str, Mapping[str, float]]] = [("produced", sent_at)]
        chain += [(t, self.stamps[t]) for t in OUTPUTS]
        done = [e for e in emails if all(e in stamps for _, stamps in chain)]
        return {
            f"{a} -> {b}": percentile([stamps_b[e] - stamps_a[e] for e in done], 50)
            for (a, stamps_a), (b, stamps_b) in itertools.pairwise(chain)
            if done
        }


@dataclass
class Spine:
    """The three services running on one namespace, with a reader on their outputs."""

    infra: Infra
    namespace: Namespace
    arrivals: Arrivals
    counter: TopicCounter
    engagement_per_lead: int = 0
    seed: int = 1000

    @classmethod
    def start(cls, infra: Infra, scoring_env: dict[str, str], engagement_per_lead: int = 0) -> Spine:
        namespace = Namespace(infra, "e2e", dict(scoring_env))
        try:
            namespace.seed_roster()
            for name in SPINE:
                namespace.start(name, wait=False)
            for service in namespace.services:
                service.wait_ready()
        except BaseException:
            namespace.close()  # a service that never got ready must not outlive the bench
            raise
        arrivals = Arrivals(create_codec(), namespace.prefix, redis_url=infra.redis_url)
        topics = [namespace.topic(t) for t in OUTPUTS]
        counter = TopicCounter(infra, topics, arrivals.on_message)
        return cls(infra, namespace, arrivals, counter, engagement_per_lead)

    @property
    def services(self) -> list[ServiceProcess]:
        return self.namespace.services

    def run(self, offered: int, seconds: float, drain_seconds: float) -> LoadRun:
        """Offer `offered` leads/s for `seconds`, then wait up to `drain_seconds` for the spine to finish."""
        self.seed += 1
        mix = workload_with_engagement(
            self.seed, max(1, int(offered * seconds)), self.engagement_per_lead, datetime.now(UTC)
        )
        leads = [item for item in mix if isinstance(item, Lead)]
        sent_at = self._offer(mix, offered)
        emails = {lead.email for lead in leads if lead.valid and not lead.duplicate}
        drained = self.counter.wait_until(lambda: self.arrivals.done(emails), drain_seconds, self._check_alive)
        return self._summarise(offered, leads, sent_at, emails, drained)

    def _offer(self, mix: list[Lead | dict[str, Any]], offered: int) -> dict[str, float]:
        """Produce the mix paced so that `offered` leads/s go out (the engagement between them)."""
        codec, now = create_codec(), datetime.now(UTC)
        lead_topic, engagement_topic = self.namespace.topic("leads.inbound"), self.namespace.topic("engagement.inbound")
        records = [
            (lead_topic, item.email.encode(), codec.encode("LeadSubmitted", lead_submitted(item, now)))
            if isinstance(item, Lead)
            else (engagement_topic, str(item["email"]).encode(), codec.encode("EngagementEvent", item))
            for item in mix
        ]
        sent_at: dict[str, float] = {}

        def on_sent(index: int, at: float) -> None:
            if isinstance(lead := mix[index], Lead):
                sent_at.setdefault(lead.email, at * 1000)

        producer = create_producer(self.infra, linger_ms=1, idempotent=False)
        produce_paced(producer, records, offered * (1 + self.engagement_per_lead), on_sent)
        return sent_at

    def _summarise(
        self, offered: int, leads: list[Lead], sent_at: dict[str, float], emails: set[str], drained: bool
    ) -> LoadRun:
        assigned = {e: self.arrivals.assigned[e] for e in emails if e in self.arrivals.assigned}
        latencies = tuple(sorted(max(0.0, stamp - sent_at[e]) for e, stamp in assigned.items()))
        scored = [self.arrivals.scored[e] for e in emails if e in self.arrivals.scored]
        # The spine's output rate, in submitted leads (duplicates and invalid ones included) per second.
        window = (max(scored) - min(scored)) / 1000 if scored else 0.0
        achieved = rate(len(scored), window) * len(leads) / max(1, len(emails))
        qualified = len(self.arrivals.qualified & emails)
        hops = self.arrivals.hops_p50_ms(sent_at, emails)
        return LoadRun(offered, len(leads), achieved, latencies, qualified, drained, hops)

    def _check_alive(self) -> None:
        for service in self.services:
            service.check_alive()

    def close(self) -> None:
        self.counter.close()
        self.namespace.close()
