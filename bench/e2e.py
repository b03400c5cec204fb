"""End to end: ingest → scoring → routing under stepped offered loads of leads on leads.inbound,
each followed by engagement events (engagement.inbound) for the leads already sent.

Latency is the leads.assigned record's timestamp minus the moment the bench produced the event
that qualified the lead: the lead itself, or the engagement event that lifted its score over the
threshold (bench/qualifying.py), joined by email (the workload's emails are unique). Stepping stops
at the first saturated load (p99 over 1 s, or not drained): every higher load would only queue
behind it.
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

from bench.qualifying import cause_of_score, qualifying_cause
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
    """What came out of the spine, by lead, with each record's timestamp (ms); read by email."""

    codec: AvroCodec
    prefix: str
    # Per topic, the first record's timestamp per lead_id.
    stamps: dict[str, dict[str, int]] = field(default_factory=lambda: {t: {} for t in OUTPUTS})
    redis_url: str = LOCAL_REDIS
    # lead_id -> plain email, from any record that names it: a score decided from engagement that
    # reached scoring before the lead's own facts carries no email.
    emails: dict[str, str] = field(default_factory=dict)
    # Every leads.scored record per lead_id: (timestamp ms, id of the event it answers).
    scores: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    # `stamps` by email, kept as records arrive: `done()` runs after every poll of the reader, which
    # shares the cores with the spine it measures, so it must not rebuild these each time.
    by_email: dict[str, dict[str, int]] = field(default_factory=lambda: {t: {} for t in OUTPUTS})

    def on_message(self, message: Message) -> None:
        try:
            _, value = self.codec.decode(message.value() or b"")
        except DecodeError:
            return
        topic, lead_id, stamp = (
            (message.topic() or "").removeprefix(self.prefix),
            str(value["lead_id"]),
            message.timestamp()[1],
        )
        self.stamps[topic].setdefault(lead_id, stamp)
        self._learn_email(lead_id, str(value["email"] or ""))
        if (email := self.emails.get(lead_id)) is not None:
            self.by_email[topic].setdefault(email, self.stamps[topic][lead_id])
        if topic == "leads.scored" and (cause := cause_of_score(str(value["event_id"]))):
            self.scores.setdefault(lead_id, []).append((stamp, cause))

    @functools.cached_property
    def _redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis_url)

    def _learn_email(self, lead_id: str, email: str) -> None:
        """The plain address: the spine's records carry it sealed with the lead's key (opened once per lead)."""
        if not email or lead_id in self.emails:
            return
        if is_sealed(email):
            stored = self._redis.get(key_name(f"{self.prefix}sf:", lead_id))
            key = loaded_key(lead_id, stored, None) if isinstance(stored, bytes) else None
            email = open_sealed(key, lead_id, email) if key else email
        self.emails[lead_id] = email
        for topic, stamps in self.stamps.items():  # what arrived for the lead before its email did
            if lead_id in stamps:
                self.by_email[topic].setdefault(email, stamps[lead_id])

    @property
    def scored(self) -> dict[str, int]:
        return self.by_email["leads.scored"]

    @property
    def assigned(self) -> dict[str, int]:
        return self.by_email["leads.assigned"]

    @property
    def qualified(self) -> set[str]:
        return set(self.by_email["leads.qualified"])

    def done(self, emails: set[str]) -> bool:
        """Every lead was scored and every qualified one assigned."""
        qualified = emails & self.by_email["leads.qualified"].keys()
        return emails <= self.scored.keys() and qualified <= self.assigned.keys()

    def paths(
        self, sent_at: Mapping[str, float], submissions: Mapping[str, str], emails: set[str]
    ) -> dict[str, tuple[float, int, int, int]]:
        """Per assigned lead among `emails`: when the event that qualified it was sent, then the
        stamps of its qualifying score, its qualification and its assignment (all ms).

        A lead whose qualifying score is not found is timed from its submission (`submissions`:
        email -> event_id) and its first score: a latency is never understated.
        """
        paths = {}
        qualified_at, assigned_at = self.stamps["leads.qualified"], self.stamps["leads.assigned"]
        for lead, email in self.emails.items():
            if email not in emails or lead not in assigned_at or lead not in qualified_at:
                continue
            qualified, scores = qualified_at[lead], self.scores.get(lead, [])
            cause = qualifying_cause(scores, qualified, sent_at)
            if cause is None:
                cause, scored = submissions[email], self.stamps["leads.scored"].get(lead, qualified)
            else:
                scored = max(stamp for stamp, c in scores if c == cause and stamp <= qualified)
            paths[email] = (sent_at[cause], scored, qualified, assigned_at[lead])
        return paths


def hops_p50_ms(paths: Mapping[str, tuple[float, int, int, int]]) -> dict[str, float]:
    """The median time each hop took, from the qualifying event's send to the assignment."""
    names = ("produced", "leads.scored", "leads.qualified", "leads.assigned")
    return {
        f"{a} -> {b}": percentile([path[i + 1] - path[i] for path in paths.values()], 50)
        for i, (a, b) in enumerate(itertools.pairwise(names))
        if paths
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
            item = mix[index]
            sent_at.setdefault(str(item.value["event_id"] if isinstance(item, Lead) else item["event_id"]), at * 1000)

        producer = create_producer(self.infra, linger_ms=1, idempotent=False)
        produce_paced(producer, records, offered * (1 + self.engagement_per_lead), on_sent)
        return sent_at

    def _summarise(
        self, offered: int, leads: list[Lead], sent_at: dict[str, float], emails: set[str], drained: bool
    ) -> LoadRun:
        submissions = {lead.email: str(lead.value["event_id"]) for lead in leads}
        paths = self.arrivals.paths(sent_at, submissions, emails)
        latencies = tuple(sorted(max(0.0, assigned - sent) for sent, _, _, assigned in paths.values()))
        scored = [self.arrivals.scored[e] for e in emails if e in self.arrivals.scored]
        # The spine's output rate, in submitted leads (duplicates and invalid ones included) per second.
        window = (max(scored) - min(scored)) / 1000 if scored else 0.0
        achieved = rate(len(scored), window) * len(leads) / max(1, len(emails))
        qualified = len(self.arrivals.qualified & emails)
        return LoadRun(offered, len(leads), achieved, latencies, qualified, drained, hops_p50_ms(paths))

    def _check_alive(self) -> None:
        for service in self.services:
            service.check_alive()

    def close(self) -> None:
        self.counter.close()
        self.namespace.close()
