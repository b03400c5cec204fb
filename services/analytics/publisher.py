"""Publishes this worker's partitions' totals to the Redis read model every interval.

A partition newly assigned is published whole (replacing a former owner's copy); after that
only the parts that changed. Never writes the tables.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared.errors import TransientFailure
from shared.tables import tables_ready
from shared.topics import physical_name

if TYPE_CHECKING:
    from services.analytics.app import Analytics


class Publisher:
    """Tracks which owned partitions the read model already holds in full."""

    def __init__(self, analytics: Analytics) -> None:
        self.analytics = analytics
        self.published: set[int] = set()
        self.generation = 0
        self.topic = physical_name("leads.captured", analytics.runtime.settings.topic_prefix)

    async def reset(self, sender: Any = None, *args: Any, **kwargs: Any) -> None:
        """At every rebalance: partitions may have moved, so caches and progress start over."""
        self.generation += 1
        self.published.clear()
        self.analytics.totals.reset()

    def owned(self) -> set[int]:
        consumer = self.analytics.runtime.app.consumer
        return {tp.partition for tp in consumer.assignment() if tp.topic == self.topic} if consumer else set()

    async def publish(self) -> None:
        """Publish new partitions whole, then every pending change.

        Redis away or slow skips the rest of the pass, nothing lost: a partition not yet written
        whole is written whole next time, and a change that failed goes back to pending.
        """
        if not tables_ready(self.analytics.runtime.app):
            return
        try:
            await self._publish()
        except TransientFailure as exc:
            self.analytics.runtime.log.warning("read_model_publish_skipped", error=str(exc))

    async def _publish(self) -> None:
        generation, totals, model = self.generation, self.analytics.totals, self.analytics.read_model
        for partition in sorted(self.owned() - self.published):
            if generation != self.generation:
                return  # a rebalance reset the totals during the last write; the next pass starts over
            # Snapshot and drop the pending changes with no await between, so a fold that lands
            # while the snapshot is written stays pending for the next pass.
            docs = totals.partition_docs(partition)
            totals.pending.pop(partition, None)
            await model.replace(partition, docs)
            if generation == self.generation:
                self.published.add(partition)
        for partition in list(totals.pending):
            if generation != self.generation:
                return
            writes, deletes = totals.pending.pop(partition)
            try:
                await model.update(partition, writes, deletes)
            except TransientFailure:
                if generation == self.generation:  # else the partition may be another worker's now
                    totals.restore(partition, writes, deletes)
                raise


def install_publisher(analytics: Analytics) -> Publisher:
    publisher = Publisher(analytics)
    app = analytics.runtime.app
    app.on_partitions_revoked.connect(publisher.reset)  # type: ignore[arg-type]
    app.on_partitions_assigned.connect(publisher.reset)  # type: ignore[arg-type]
    app.timer(analytics.config.flush_interval_seconds, name="analytics.publish")(publisher.publish)
    return publisher
