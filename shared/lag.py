"""Consumer lag: the records each partition a worker consumes has behind its end, as a gauge.

What the SalesflowConsumerLagHigh alert, the operations dashboard and the soak read. The end is the
high watermark of the partition's last fetch response (right on the local broker as on Kafka, where
ListOffsets is not); the position is the offset the worker last committed, so records fetched but
not yet handled count as lag, as kafka-consumer-groups counts them. A partition its group never
committed is read from the start of its log (the reset policy), so its lag runs from there: a
worker stuck on its very first batch shows it. A partition is left out before its first fetch.
"""

from __future__ import annotations

from collections.abc import Mapping

import faust
from aiokafka.errors import KafkaError
from faust.types import TP
from prometheus_client import Gauge

from shared.group_consumer import faust_offset

REFRESH_SECONDS = 5.0


def partition_lags(ends: Mapping[TP, int | None], committed: Mapping[TP, int | None]) -> dict[TP, int]:
    """Records behind the end per partition whose end and committed offset are both known."""
    lags = {}
    for tp, end in ends.items():
        position = committed.get(tp)
        if end is not None and position is not None:
            lags[tp] = max(0, end - position)
    return lags


class LagGauge:
    """Keeps `salesflow_<service>_consumer_lag_records{topic, partition}` to the partitions consumed now.

    `topics` maps each consumed topic's physical name to its contract name (the label): changelogs and
    partitions this worker no longer owns are not reported, and a revoked partition's series goes.
    """

    def __init__(self, app: faust.App, gauge: Gauge, topics: Mapping[str, str]) -> None:
        self.app, self.gauge, self.topics = app, gauge, topics
        self.reported: set[tuple[str, str]] = set()

    async def refresh(self) -> None:
        """Set the gauge from the consumer now; a metric must never take the worker down, so a
        rebalance or broker outage under the read leaves the last values until the next refresh."""
        try:
            lags = await self._read()
        except (TimeoutError, KafkaError):
            return
        labels = {tp: (self.topics[tp.topic], str(tp.partition)) for tp in lags}
        for tp, lag in lags.items():
            self.gauge.labels(*labels[tp]).set(lag)
        for gone in self.reported - set(labels.values()):
            self.gauge.remove(*gone)
        self.reported = set(labels.values())

    async def _read(self) -> dict[TP, int]:
        consumer = self.app.consumer
        consumed = [tp for tp in consumer.assignment() if tp.topic in self.topics]
        ends = {tp: consumer.highwater(tp) for tp in consumed}
        committed = {tp: faust_offset(consumer, "_committed_offset", tp) for tp in consumed}
        # An empty partition has nothing behind; only one with records is worth asking where it starts.
        committed |= {tp: 0 for tp, offset in committed.items() if offset is None and ends[tp] == 0}
        if never := [tp for tp, offset in committed.items() if offset is None and ends[tp]]:
            committed |= await consumer.earliest_offsets(*never)
        return partition_lags(ends, committed)

    def install(self, interval: float = REFRESH_SECONDS) -> None:
        self.app.timer(interval, name="consumer_lag")(self.refresh)
