"""Faust's transport for the local (Tansu) broker: two of its answers differ from Apache Kafka's.

- It answers a fetch only when the fetch's wait expires, never early when data arrives, so Faust's
  fixed 1.5 s wait would cost up to 1.5 s per hop: the stream consumer waits 20 ms instead.
- ListOffsets(latest) answers the last record batch's base offset + 1, too low after a
  multi-record batch, while a fetch response's high watermark is right. Faust's table recovery
  reads end offsets through ListOffsets and would refuse to start ("persisted offset … higher
  than the last offset") or stop reading a changelog early; here it reads them from a fetch.

With both handled, every producer batches on the local broker as on a real cluster.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from aiokafka.protocol.fetch import FetchRequest
from aiokafka.structs import TopicPartition
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP

from shared.group_consumer import GroupConsumer, GroupConsumerThread

LOCAL_FETCH_MAX_WAIT_MS = 20
# A fetch at the last batch's base offset returns that batch and the partition's high watermark.
PROBE_MAX_BYTES = 1024**2
READ_UNCOMMITTED = 0


async def end_offsets_from_fetch(client: Any, reported: Mapping[TP, int]) -> dict[TP, int]:
    """The end offsets `reported` by ListOffsets, corrected with each partition's fetch high watermark.

    `client` is an aiokafka client. A partition the broker reports empty is empty (its first batch
    would have made the end offset at least 1). A probe that fails keeps the reported offset,
    which is never too high: recovery then fails loudly rather than reading past the end.
    """
    probes: dict[int, dict[str, list[tuple[int, int, int]]]] = defaultdict(lambda: defaultdict(list))
    for tp, end in reported.items():
        if end > 0:
            node = client.cluster.leader_for_partition(TopicPartition(tp.topic, tp.partition))
            probes[node][tp.topic].append((tp.partition, end - 1, PROBE_MAX_BYTES))
    corrected = dict(reported)
    for node, topics in probes.items():
        request = FetchRequest(LOCAL_FETCH_MAX_WAIT_MS, 1, PROBE_MAX_BYTES, READ_UNCOMMITTED, list(topics.items()))
        response = await client.send(node, request)
        for topic, partitions in response.topics:
            for partition, error_code, highwater, *_ in partitions:
                tp = TP(topic, partition)
                if error_code == 0 and tp in corrected:
                    corrected[tp] = max(corrected[tp], highwater)
    return corrected


class LocalBrokerConsumerThread(GroupConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = LOCAL_FETCH_MAX_WAIT_MS  # read by AIOKafkaConsumer.start()
        return consumer

    async def _highwaters(self, partitions: list[TP]) -> Mapping[TP, int]:
        reported = await super()._highwaters(partitions)
        return await end_offsets_from_fetch(self._ensure_consumer()._client, reported)


class LocalBrokerConsumer(GroupConsumer):
    ConsumerThread = LocalBrokerConsumerThread


class LocalBrokerTransport(faust_aiokafka.Transport):
    Consumer = LocalBrokerConsumer
