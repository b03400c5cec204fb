"""Faust's aiokafka consumer with two fetch-position fixes and a shutdown fix, used on every broker.

The fixes sit in the consumer thread, where aiokafka runs; nothing here decides what a record means.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Set
from typing import Any, cast

import aiokafka
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP

log = logging.getLogger(__name__)


class GroupConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    """The thread that owns aiokafka's consumer.

    - **No fetch of every partition by accident.** Faust hands this thread its live set of active
      partitions after checking it is not empty. If a pause empties the set before the thread
      runs, aiokafka reads the empty set as "all partitions": it hands over records of paused
      stream partitions and changelogs, Faust drops them, and their positions have moved on.
      The thread takes its own copy and fetches nothing when it is empty.
    - **A partition without a committed offset goes back to the reset policy.** After a recovery
      or a rebalance Faust seeks every partition to its committed offset, but aiokafka's
      `seek_to_committed` leaves a partition alone when the group never committed it (or
      committed 0). Records fetched and dropped before the seek were then skipped: measured, a
      second scoring worker never handled one partition of a 25,000-record backlog
      (docs/reliability.md, defect 7). Those partitions are now sought to the group's reset
      policy (`earliest`: the start of the log).
    - **A stop without a broker ends in seconds, not a minute.** aiokafka's fetcher, closing,
      cancels its pending fetches and awaits each without catching the cancellation. A fetch
      that failed for want of a broker sleeps before it returns, and its cancellation escapes
      the consumer's `stop()`. The thread then never tells Faust it has stopped, and the worker
      waits out mode's 60 s shutdown timeout: measured, a SIGTERM took 62 s to end a worker
      whose broker was gone, past Kubernetes' grace period. That stray cancellation now ends
      the consumer's stop, and the thread reports itself stopped.
    """

    async def on_thread_stop(self) -> None:
        try:
            await super().on_thread_stop()
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # this stop itself was cancelled
            log.warning("consumer_stop_cut_short: a fetch's cancellation ended aiokafka's stop")

    async def _fetch_records(
        self,
        consumer: aiokafka.AIOKafkaConsumer,
        active_partitions: Set[TP] | None,
        timeout: float | None = None,
        max_records: int | None = None,
    ) -> Any:
        if active_partitions is not None:
            active_partitions = frozenset(active_partitions)  # Faust's set changes under us
            if not active_partitions:
                return {}
        return await super()._fetch_records(consumer, cast(set[TP], active_partitions), timeout, max_records)

    async def seek_to_committed(self) -> Mapping[TP, int]:
        return cast(Mapping[TP, int], await self.call_thread(self._seek_to_committed_or_reset))

    async def _seek_to_committed_or_reset(self) -> Mapping[TP, int]:
        consumer = self._ensure_consumer()
        committed: Mapping[TP, int | None] = await consumer.seek_to_committed()
        for tp in [tp for tp, offset in committed.items() if offset == 0]:
            consumer.seek(tp, 0)
        never_committed = [tp for tp, offset in committed.items() if offset is None]
        if never_committed and self.app.conf.consumer_auto_offset_reset == "latest":
            await consumer.seek_to_end(*never_committed)
        elif never_committed:
            await consumer.seek_to_beginning(*never_committed)
        return cast(Mapping[TP, int], committed)  # None for a partition never committed, as aiokafka returns


def faust_offset(consumer: Any, attribute: str, tp: TP) -> int | None:
    """Faust's own per-partition `_committed_offset` or `_read_offset` (private state, which Faust
    has no public view of); None when unknown."""
    offset = getattr(consumer, attribute, {}).get(tp)
    return offset if isinstance(offset, int) else None


class GroupConsumer(faust_aiokafka.Consumer):
    ConsumerThread: type[GroupConsumerThread] = GroupConsumerThread  # a transport may bring its own

    def _new_consumer_thread(self) -> GroupConsumerThread:
        return self.ConsumerThread(self, loop=self.loop, beacon=self.beacon)
