"""A service's runtime: the Faust app plus codec, metrics, Redis and the per-record loop.

The loop drains what the consumer already fetched in small batches, decodes each record, hands the
handler the record and its metadata in order, and routes failures: bad data to the dead-letter topic
(processing goes on), a dependency outage to a retry with backoff, anything else to a crash (nothing
committed; the orchestrator restarts the process). A batch's records are acknowledged (so
committable) only after the broker acknowledged every output they produced.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import os
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, NoReturn, TypeVar, cast

import faust
import structlog
from prometheus_client import CollectorRegistry

from shared.avro_codec import AvroCodec, DecodeError, create_codec
from shared.batching import MAX_BATCH, MAX_SETTLING, AfterOutputs, Batch, after_outputs, open_batch, track_outputs
from shared.config import ServiceSettings
from shared.dead_letters import RecordMeta, dead_letter_headers
from shared.errors import InvalidRecord, TransientFailure
from shared.faust_app import create_app, handling
from shared.hole_guard import HoleGuard
from shared.lag import LagGauge
from shared.metrics import ServiceMetrics
from shared.records import from_avro, to_avro
from shared.redis_client import create_redis
from shared.rocksdb_budget import MIB, attach_budget
from shared.topics import Cleanup, dlq_name, physical_name, topic_spec

R = TypeVar("R")
V = TypeVar("V")
Handler = Callable[[R, RecordMeta], Awaitable[None]]
# A batch's (record, meta) pairs -> per record None, or the InvalidRecord to dead-letter it with.
BatchHandler = Callable[[list[tuple[dict[str, Any], RecordMeta]]], Awaitable[list[InvalidRecord | None]]]
ProcessEvents = Callable[[faust.StreamT[bytes], list[faust.EventT[bytes]]], Awaitable[None]]
# A fetched batch's decoded records -> what the handler may read while handling them (prefetched()).
Prefetch = Callable[[list[dict[str, Any]]], Awaitable[object]]
MAX_RETRY_DELAY = 5.0
# sysexits' EX_SOFTWARE: an internal software error.
EXIT_RECORD_FAILED = 70
# Per agent task, so one topic's batch never sees another's.
_prefetched: contextvars.ContextVar[object] = contextvars.ContextVar("prefetched", default=None)


def prefetched() -> object:
    """What the `prefetch` of `consume` answered for the batch being handled; None outside one."""
    return _prefetched.get()


class ServiceRuntime:
    """Everything a service's wiring module needs, built once at start-up."""

    def __init__(
        self,
        settings: ServiceSettings,
        *,
        registry: CollectorRegistry | None = None,
        codec: AvroCodec | None = None,
        app_id: str | None = None,
    ) -> None:
        self.settings = settings
        self.service = settings.service
        self.app = create_app(settings, app_id=app_id)
        self.codec = codec or create_codec(settings.kafka.schema_registry_url)
        self.metrics = ServiceMetrics.create(settings.service, registry or CollectorRegistry())
        self.redis = create_redis(settings.redis_url)
        self.log = structlog.get_logger(settings.service)
        self.dlq = self.topic(dlq_name(settings.service))
        self._producer: faust.types.ProducerT | None = None
        refetched = self.metrics.counter(
            "records_refetched_total", "Records the stream framework skipped, fetched again.", ("topic",)
        )
        self._holes = HoleGuard(self.app, refetched, self.log)
        self._consumed: dict[str, str] = {}  # physical topic name -> contract name, filled by consume*
        LagGauge(self.app, self.metrics.consumer_lag, self._consumed).install()
        budget = attach_budget(self.app, settings.rocksdb_memory_mib * MIB)
        self.metrics.rocksdb_memory.set_function(budget.usage_bytes)
        self.metrics.rocksdb_memory_limit.set(budget.capacity_bytes)

    def redis_key(self, *parts: str) -> str:
        """A namespaced Redis key: <prefix><service>:<parts...>."""
        return self.settings.redis_prefix + ":".join((self.service, *parts))

    def topic(self, name: str) -> faust.TopicT:
        """The Faust topic for contract topic `name` (partitions and cleanup from the registry)."""
        spec = topic_spec(name)
        return self.app.topic(
            physical_name(name, self.settings.topic_prefix),
            partitions=spec.partitions,
            compacting=spec.cleanup is Cleanup.COMPACT,
            deleting=spec.cleanup is Cleanup.DELETE,
            retention=spec.retention_ms / 1000 if spec.cleanup is Cleanup.DELETE else None,
        )

    async def send(self, name: str, key: str, record: Any, *, wait: bool = False) -> None:
        """Encode a record dataclass (or a (record name, dict) pair) and produce it to `name`.

        Agents need not wait: the consume loop acknowledges a batch's records only after the broker
        acknowledged their outputs. HTTP handlers pass `wait=True` so they answer only after that.
        """
        (failure,) = await self.send_many(name, [(key, record)], wait=wait)
        if failure is not None:
            raise failure

    async def send_many(
        self, name: str, records: Sequence[tuple[str, Any]], *, wait: bool = False
    ) -> list[BaseException | None]:
        """Produce (key, record) pairs to `name` in order; with `wait`, await all acknowledgements at once.

        Every record is encoded before any is produced, so an EncodeError produces nothing.
        Returns per record None, or (only with `wait`) the error its produce failed with.
        """
        encoded = [(key.encode(), self._encode(record)) for key, record in records]
        pending = await self._produce(name, encoded)
        track_outputs(pending)
        results: list[Any] = await asyncio.gather(*pending, return_exceptions=True) if wait else [None] * len(pending)
        failures = [r if isinstance(r, BaseException) else None for r in results]
        self.metrics.events_out.labels(name).inc(failures.count(None))
        return failures

    async def _produce(self, name: str, encoded: list[tuple[bytes, bytes]]) -> list[Awaitable[Any]]:
        """Hand the records to the app's producer (the one that writes the changelogs), past Faust's
        Topic.send: the topics exist already, and its per-record bookkeeping costs more than the send."""
        if self._producer is None:
            self._producer = await self.app.maybe_start_producer()
        physical = physical_name(name, self.settings.topic_prefix)
        return [await self._producer.send(physical, key, data, None, None, None) for key, data in encoded]

    def after_outputs(self, step: AfterOutputs) -> None:
        """Run `step` once the outputs of the records being handled are acknowledged, before the
        records themselves are: a state write that must never get ahead of its outputs.

        The step runs as if handling the record that registered it: Faust's tables pick the
        changelog and RocksDB partition from the current record.
        """
        event = faust.current_event()

        async def step_for_event() -> None:
            with handling(event):
                await step()

        after_outputs(step_for_event)

    def _encode(self, record: Any) -> bytes:
        record_name, value = (record.RECORD, to_avro(record)) if hasattr(record, "RECORD") else record
        return self.codec.encode(record_name, value)

    def consume(
        self,
        name: str,
        handler: Handler[Any],
        record_type: type[Any] | None = None,
        prefetch: Prefetch | None = None,
        keys_at_once: int = 1,
    ) -> None:
        """Register an agent on topic `name` that runs `handler` once per record, in order.

        With `record_type` the handler gets that dataclass, otherwise the decoded dict. Records
        already fetched are handled in batches of up to MAX_BATCH, one after another (per-key order
        kept, a dead letter per record); the batch is acknowledged once its outputs are.

        With `prefetch`, each batch's decoded records are first handed to it at once (a record that
        does not decode is left out, and dead-lettered in its turn): what it answers, say Redis
        reads for the whole batch in one round trip, is `prefetched()` while the batch's records
        are handled. A TransientFailure from it is retried like a handler's.

        With `keys_at_once` above 1, a batch's records of up to that many keys are handled at once,
        each key's still in order: for a handler that mostly waits on round trips (Redis, SMTP),
        whose effects are its record key's own, and which locks what keys share.
        """
        expected = _record_name(name)

        async def each(stream: faust.StreamT[bytes], events: list[faust.EventT[bytes]]) -> None:
            values: list[dict[str, Any] | None] = [None] * len(events)
            if prefetch is not None:
                values = [self._decoded_or_none(event.value, expected) for event in events]
            token = _prefetched.set(await self._prefetch(name, values, prefetch)) if prefetch else None

            async def handle(event: faust.EventT[bytes], value: dict[str, Any] | None) -> None:
                # Faust's tables read and write the partition of the current event; the stream left it
                # at the batch's last event, which may be another partition's: make it this record's.
                cast(faust.Stream[bytes], stream)._set_current_event(event)
                await self._process(_meta(event, name), event.value, expected, record_type, handler, value)

            try:
                if keys_at_once > 1:
                    await by_key(list(zip(events, values, strict=True)), keys_at_once, handle)
                else:
                    for event, value in zip(events, values, strict=True):
                        await handle(event, value)
            finally:
                if token is not None:
                    _prefetched.reset(token)

        self._agent(name, each)

    def _decoded_or_none(self, data: bytes, expected: str) -> dict[str, Any] | None:
        try:
            return self.codec.decode_as(data, expected)
        except DecodeError:
            return None

    async def _prefetch(self, name: str, values: list[dict[str, Any] | None], prefetch: Prefetch) -> object:
        try:
            return await self._with_retries(lambda: prefetch([value for value in values if value is not None]))
        except Exception as exc:  # a bug: as in a handler, nothing may be committed
            with structlog.contextvars.bound_contextvars(topic=name):
                self.crash(exc)

    def consume_batches(self, name: str, handler: BatchHandler) -> None:
        """Register an agent on topic `name` that hands `handler` each fetched batch at once, so its
        round trips to Redis are paid per batch rather than per record.

        The handler gets the decoded records with their metadata, in order (a record that does not
        decode is dead-lettered first), and answers per record None, or the InvalidRecord that sends
        it to the dead-letter topic. A TransientFailure retries the whole batch, so the handler
        must be idempotent per record. It must not use tables: Faust's current event is the
        batch's last. Each record's processing time is its batch's.
        """
        expected = _record_name(name)

        async def together(stream: faust.StreamT[bytes], events: list[faust.EventT[bytes]]) -> None:
            await self._process_together(name, events, expected, handler)

        self._agent(name, together)

    def _agent(self, name: str, process: ProcessEvents) -> None:
        async def agent(stream: faust.StreamT[bytes]) -> None:
            manual = cast(faust.Stream[bytes], stream).noack()
            batch: list[faust.EventT[bytes]] = []
            settling: deque[asyncio.Future[None]] = deque()
            async for event in manual.events():
                batch.append(event)
                if len(batch) < MAX_BATCH and _more_fetched(manual):
                    continue
                settling.append(await self._process_batch(manual, batch, process))
                batch = []
                _resume_drained_partitions(manual)
                while settling and (settling[0].done() or len(settling) > MAX_SETTLING):
                    await settling.popleft()

        agent.__name__ = f"consume_{name.replace('.', '_')}"
        physical = physical_name(name, self.settings.topic_prefix)
        self._consumed[physical] = name
        if topic_spec(name).cleanup is Cleanup.DELETE:  # a compacted topic has holes of its own
            self._holes.topics.add(physical)
        self.app.agent(self.topic(name), name=f"{self.service}.{name}")(agent)

    async def _process_batch(
        self, stream: faust.StreamT[bytes], events: list[faust.EventT[bytes]], process: ProcessEvents
    ) -> asyncio.Future[None]:
        """Handle the records in order; returns the task that acknowledges them once their outputs are.

        The next batch is handled meanwhile: waiting for the broker here would idle the loop.
        """
        with open_batch() as batch:
            # A record the hole guard does not admit is not acknowledged: fetched and handled again after the seek.
            handled = [event for event in events if await self._holes.admit(event.message)]
            await process(stream, handled)
        return asyncio.ensure_future(self._settle(stream, handled, batch))

    async def _settle(self, stream: faust.StreamT[bytes], events: list[faust.EventT[bytes]], batch: Batch) -> None:
        try:
            await batch.settle()
        except Exception as exc:  # an output the broker refused: nothing may be committed
            self.crash(exc)
        for event in events:
            await stream.ack(event)

    async def _process(
        self,
        meta: RecordMeta,
        data: bytes,
        expected: str,
        record_type: type[Any] | None,
        handler: Handler[Any],
        decoded: dict[str, Any] | None = None,
    ) -> None:
        """Handle one record; `decoded` is its value when a prefetch decoded it already."""
        started = time.perf_counter()
        self.metrics.events_in.labels(meta.topic).inc()
        with _record_context(meta):
            try:
                value = self.codec.decode_as(data, expected) if decoded is None else decoded
                self._observe_age(meta.topic, value)
                record = from_avro(record_type, value) if record_type else value
                await self._with_retries(lambda: handler(record, meta))
            except (DecodeError, InvalidRecord) as exc:
                await self.dead_letter(meta, data, exc)
            except Exception as exc:
                self.crash(exc)
            finally:
                self.metrics.processing_seconds.labels(meta.topic).observe(time.perf_counter() - started)

    async def _process_together(
        self, name: str, events: list[faust.EventT[bytes]], expected: str, handler: BatchHandler
    ) -> None:
        started = time.perf_counter()
        self.metrics.events_in.labels(name).inc(len(events))
        decoded: list[tuple[Any, RecordMeta, bytes]] = []
        structlog.contextvars.bind_contextvars(topic=name)
        try:
            for event in events:
                meta = _meta(event, name)
                try:
                    value = self.codec.decode_as(event.value, expected)
                except DecodeError as exc:
                    with _record_context(meta):
                        await self.dead_letter(meta, event.value, exc)
                    continue
                self._observe_age(name, value)
                decoded.append((value, meta, event.value))
            if not decoded:
                return
            answers = await self._with_retries(lambda: handler([(value, meta) for value, meta, _ in decoded]))
            for (_, meta, data), answer in zip(decoded, answers, strict=True):
                if answer is not None:
                    with _record_context(meta):
                        await self.dead_letter(meta, data, answer)
        except Exception as exc:  # a bug, or a dead letter the broker refused: nothing may be committed
            self.crash(exc)
        finally:
            structlog.contextvars.unbind_contextvars("topic")
            elapsed = time.perf_counter() - started
            for _ in decoded:
                self.metrics.processing_seconds.labels(name).observe(elapsed)

    async def _with_retries(self, call: Callable[[], Awaitable[R]]) -> R:
        delay = 0.1
        while True:
            try:
                return await call()
            except TransientFailure as exc:
                # Never dead-letter an outage: wait and try the same record again.
                self.log.warning("dependency_unavailable", error=str(exc), retry_in_seconds=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_RETRY_DELAY)

    def crash(self, error: BaseException) -> NoReturn:
        """A bug, not bad data: log it and end the process at once, committing nothing.

        Faust would otherwise restart just the agent and read on past the failed record; dying
        leaves the record uncommitted, so the restarted process (Kubernetes restarts it) retries it.
        """
        self.metrics.events_failed.labels(
            structlog.contextvars.get_contextvars().get("topic", ""), "processing_error"
        ).inc()
        self.log.critical("record_failed", error_class=type(error).__name__, error=str(error), exc_info=error)
        logging.shutdown()
        os._exit(EXIT_RECORD_FAILED)

    async def dead_letter(self, meta: RecordMeta, data: bytes, error: BaseException) -> None:
        """Send the original bytes to dlq.<service> with headers naming the error and origin."""
        reason = "decode_error" if isinstance(error, DecodeError) else "validation_error"
        headers = dead_letter_headers(meta, error, self.service, datetime.now(UTC))
        track_outputs([await self.dlq.send(key=meta.key, value=data, headers=headers)])
        self.metrics.events_failed.labels(meta.topic, reason).inc()
        self.metrics.dead_letters.labels(meta.topic, type(error).__name__).inc()
        self.log.warning("record_dead_lettered", error_class=type(error).__name__, error=str(error))

    def _observe_age(self, topic: str, value: Mapping[str, Any]) -> None:
        occurred = value.get("occurred_at")
        if isinstance(occurred, datetime):
            age = (datetime.now(UTC) - occurred).total_seconds()
            self.metrics.event_age_seconds.labels(topic).observe(max(age, 0.0))


def _record_name(topic: str) -> str:
    """The Avro record the contract topic `topic` carries."""
    record = topic_spec(topic).record
    if record is None:
        raise ValueError(f"{topic} carries no Avro record")
    return record


def _record_context(meta: RecordMeta) -> contextlib.AbstractContextManager[None]:
    """Log lines written meanwhile name the record (what was bound before comes back after)."""
    return structlog.contextvars.bound_contextvars(topic=meta.topic, partition=meta.partition, offset=meta.offset)


def _more_fetched(stream: faust.StreamT[bytes]) -> bool:
    """Whether the consumer already holds another record for this stream (no wait for one)."""
    queue = getattr(stream.channel, "queue", None)
    return queue is not None and not queue.empty()


def _resume_drained_partitions(stream: faust.StreamT[bytes]) -> None:
    """Let Faust fetch again from every partition it paused because this stream's queue was full.

    Faust pauses a partition when the queue passes its high mark. Its queue resumes them all only
    when read empty, otherwise one at a time, picked by set order, once drained to 40%: under a
    steady backlog the same partition was never picked (measured: a scoring worker alone on a
    33,000-record backlog handled nothing of one of its six partitions until a second worker took
    it over). Drained to 40%, all of them resume here, so each gets its share.
    """
    queue = getattr(stream.channel, "queue", None)
    paused = getattr(queue, "_pending_pressure_drop_callbacks", None)
    if queue is None or not paused or queue.qsize() > queue.pressure_drop_size:
        return
    for resume in list(paused):
        resume()
    paused.clear()
    queue.on_pressure_drop()


async def by_key(
    items: list[tuple[faust.EventT[bytes], V]],
    keys_at_once: int,
    handle: Callable[[faust.EventT[bytes], V], Awaitable[None]],
) -> None:
    """Handle each record key's items in order, those of up to `keys_at_once` keys at a time.

    Each key runs in a task of its own, so the current event Faust's tables read is that task's.
    """
    lanes: dict[bytes | None, list[tuple[faust.EventT[bytes], V]]] = {}
    for event, value in items:
        lanes.setdefault(event.message.key, []).append((event, value))
    gate = asyncio.Semaphore(keys_at_once)

    async def lane(queue: list[tuple[faust.EventT[bytes], V]]) -> None:
        async with gate:
            for event, value in queue:
                await handle(event, value)

    await asyncio.gather(*(lane(queue) for queue in lanes.values()))


def _meta(event: faust.EventT[bytes], name: str) -> RecordMeta:
    message = event.message
    return RecordMeta(name, message.partition, message.offset, message.key, message.timestamp)


def runtime_for(
    service: str,
    default_port: int,
    env: Mapping[str, str] | None = None,
) -> ServiceRuntime:
    """The runtime configured from the environment."""
    return ServiceRuntime(ServiceSettings.from_env(service, default_port, env))
