"""nurture's wiring: enrolment state per lead in a table, and the one way every handler changes it.

Every handler: lock the lead, load, one domain call, then timers -> views -> events -> table (commit).
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from redis.asyncio.client import Pipeline

from services.nurture.batch_lookups import BatchLookups
from services.nurture.commit_writes import queue_lead_writes
from services.nurture.config import PORT, NurtureConfig, load_configured
from services.nurture.lead_index import LeadIndex
from services.nurture.leads import LeadRecord, RepContact, lead_timezone, new_record, record_to_store
from services.nurture.postman import Postman
from services.nurture.records import enrolment_changed
from services.nurture.sequences import Sequence
from services.nurture.state import EnrolmentChanged
from services.nurture.stats_store import StatsStore
from services.nurture.store import NurtureStore
from shared.health import install_health
from shared.pii_keys import PiiVault
from shared.redis_client import timed
from shared.runtime import ServiceRuntime, prefetched, runtime_for
from shared.tables import JsonTable

_LOCK_STRIPES = 64


class Nurture:
    """The service's state and how it changes; lead_events, engagement, commands and steps act."""

    def __init__(self, runtime: ServiceRuntime, config: NurtureConfig, sequences: Mapping[str, Sequence]) -> None:
        self.runtime, self.config, self.sequences = runtime, config, sequences
        self.leads = JsonTable(runtime.app, "nurture-leads", runtime.settings.topic_partitions)
        ttl = config.send_once_ttl_seconds
        self.store = NurtureStore(runtime.redis, runtime.redis_key, runtime.metrics, ttl)
        self.stats = StatsStore(runtime.redis, runtime.redis_key, runtime.metrics, ttl)
        self.index = LeadIndex(runtime.redis, runtime.redis_key, runtime.metrics)
        self.postman = Postman(runtime, config, self.store)
        # The profile in the table stays sealed; steps open it only to render and address a send.
        self.pii = PiiVault.create(runtime.redis, runtime.settings.redis_prefix, runtime.metrics, runtime.settings.pii)
        # Agents of different topics interleave at every await; a lead's read-modify-write must not.
        self._locks = [asyncio.Lock() for _ in range(_LOCK_STRIPES)]
        # Erasure flags written by this worker; a batch's prefetched "not erased" holds only while unchanged.
        self.erasures = 0

    def lock(self, lead_id: str) -> asyncio.Lock:
        return self._locks[zlib.crc32(lead_id.encode()) % _LOCK_STRIPES]

    def load(self, lead_id: str) -> LeadRecord:
        stored = self.leads.get(lead_id)
        return new_record(lead_id) if stored is None else LeadRecord.from_dict(stored)

    def writes(self) -> Pipeline:
        """A pipeline for a handler's Redis writes, sent in one round trip by commit, save or flush."""
        return self.runtime.redis.pipeline(transaction=False)

    async def flush(self, writes: Pipeline) -> None:
        """Send the queued writes (an empty pipeline sends nothing)."""
        await timed(self.runtime.metrics, writes.execute())

    async def commit(
        self,
        record: LeadRecord,
        changes: Iterable[EnrolmentChanged],
        cause: str,
        fired: str | None = None,
        writes: Pipeline | None = None,
    ) -> None:
        """Redis (timers, the company index, the read model and whatever `writes` holds) in one
        round trip, then events, then the table: a crash before the table write replays the input,
        and timers and derived event ids make the replay harmless. `fired` is a timer member to
        drop unless the new state still wants it."""
        changes, writes = tuple(changes), self.writes() if writes is None else writes
        stored = record_to_store(record, self.leads.get(record.lead_id))
        queue_lead_writes(writes, self.store, self.index, self.config, record, changes, fired)
        if stored is not None:
            self.index.queue_publish(writes, record.lead_id, stored)
        await self.flush(writes)
        for change in changes:
            await self.runtime.send(
                "nurture.enrolments", record.lead_id, ("EnrolmentChanged", enrolment_changed(change, cause))
            )
            self.runtime.log.info(
                "enrolment_changed",
                lead_id=record.lead_id,
                sequence_id=change.sequence_id,
                change=change.change,
                reason=change.reason,
            )
        if stored is not None:
            self.leads[record.lead_id] = stored

    async def save(self, record: LeadRecord, writes: Pipeline | None = None) -> None:
        """Write the record to the read model (with whatever `writes` holds), then to the table,
        if it changed."""
        stored = record_to_store(record, self.leads.get(record.lead_id))
        writes = self.writes() if writes is None else writes
        if stored is not None:
            self.index.queue_publish(writes, record.lead_id, stored)
        await self.flush(writes)
        if stored is not None:
            self.leads[record.lead_id] = stored

    async def prefetch(self, events: list[dict[str, Any]]) -> BatchLookups:
        """For a batch of lead events: which leads are not erased and who their reps are, at once."""
        erasures = self.erasures
        lead_ids = list(dict.fromkeys(event["lead_id"] for event in events))
        rep_ids = list(dict.fromkeys(event["rep_id"] for event in events if event.get("rep_id")))
        unerased, reps = await self.store.erased_and_reps(lead_ids, rep_ids)
        return BatchLookups(erasures, unerased, reps)

    async def forgotten(self, lead_id: str) -> bool:
        """True for an erased lead: a late event must not store its address again."""
        if self.leads.get(lead_id) is not None:
            return False
        lookups = prefetched()
        if isinstance(lookups, BatchLookups) and lookups.not_erased(lead_id, self.erasures):
            return False
        if not await self.store.is_erased(lead_id):
            return False
        self.runtime.log.info("erased_lead_ignored", lead_id=lead_id)
        return True

    async def rep(self, rep_id: str) -> RepContact | None:
        """The rep by id: from the batch's prefetch when it read them, else from the roster in Redis."""
        lookups = prefetched()
        if isinstance(lookups, BatchLookups) and rep_id in lookups.reps:
            return lookups.reps[rep_id]
        return await self.store.rep(rep_id)

    def tz_of(self, record: LeadRecord, rep: RepContact | None = None) -> ZoneInfo:
        return lead_timezone(record.profile, rep.timezone if rep else "UTC")

    def queue_activity(self, writes: Pipeline, record: LeadRecord, at: datetime) -> None:
        """The lead did something: its silence (for re-engagement) starts again from `at`."""
        if self.config.reengage_sequence and not record.enrolments.live():
            self.store.queue_silence(writes, record.lead_id, at)


def build(runtime: ServiceRuntime, config: NurtureConfig) -> Nurture:
    """Wire agents, the scheduler, the HTTP API and health onto the runtime's app."""
    from services.nurture.commands import Commands
    from services.nurture.engagement import EngagementHandler
    from services.nurture.erasure import install_erasure
    from services.nurture.http_api import install_http_api
    from services.nurture.lead_events import LeadEvents
    from services.nurture.scheduler import install_scheduler

    config, sequences = load_configured(config)
    nurture = Nurture(runtime, config, sequences)
    commands, leads = Commands(nurture), LeadEvents(nurture)
    # A new lead's first event asks Redis whether it was erased, and an assignment names a rep:
    # read for the whole fetched batch at once.
    runtime.consume("leads.captured", leads.on_captured, prefetch=nurture.prefetch)
    runtime.consume("leads.assigned", leads.on_assigned, prefetch=nurture.prefetch)
    runtime.consume("leads.scored", leads.on_scored)
    engagement = EngagementHandler(nurture, commands.desk)
    runtime.consume("engagement.captured", engagement.on_engagement)
    runtime.consume("leads.converted", engagement.on_converted)
    runtime.consume("reps.roster", leads.on_roster)
    runtime.consume("opportunities.changed", commands.on_opportunity)
    # A due step waits on a dozen round trips (Redis, the SMTP relay): steps of different leads
    # overlap, each lead's in order (its lock keeps out its other topics' handlers).
    runtime.consume("nurture.due", commands.on_due, keys_at_once=config.due_steps_at_once)
    install_erasure(nurture)
    install_scheduler(nurture)
    install_http_api(nurture)
    install_health(runtime)
    return nurture


def create(env: dict[str, str] | None = None) -> Nurture:
    return build(runtime_for("nurture", PORT, env), NurtureConfig.from_env(env))
