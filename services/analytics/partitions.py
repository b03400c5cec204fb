"""The totals table: each partition's totals as documents under partition-scoped keys
("totals:<partition>:<part>"), a cache of them, and the parts not yet published to Redis.

Written only from agents on the lead and deal topics (co-partitioned with the table): Faust
puts each write in the changelog partition of the record being processed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import faust

from services.analytics.totals import PartitionTotals, changed_docs, totals_from_docs
from shared.tables import JsonTable


def part_key(partition: int, part: str) -> str:
    return f"totals:{partition}:{part}"


def parse_key(key: str) -> tuple[int, str]:
    """(partition, part name) of a table key."""
    _, partition, part = key.split(":", 2)
    return int(partition), part


class TotalsTable:
    """Per-partition totals with read-through caching; the cache is dropped at every rebalance."""

    def __init__(self, app: faust.App, partitions: int, empty: Callable[[], PartitionTotals]) -> None:
        self.table = JsonTable(app, "totals", partitions)
        self.empty = empty
        self._cache: dict[int, PartitionTotals] = {}
        # Parts changed since the last publish: written docs and deleted names, per partition.
        self.pending: dict[int, tuple[dict[str, Any], set[str]]] = {}

    def reset(self) -> None:
        """Forget cached totals (partitions may have moved); the table is the truth."""
        self._cache.clear()
        self.pending.clear()

    def local_docs(self) -> dict[int, dict[str, dict[str, Any]]]:
        """Documents of the partitions this worker owns, by partition."""
        docs: dict[int, dict[str, dict[str, Any]]] = {}
        for key, doc in self.table.items():
            partition, part = parse_key(key)
            docs.setdefault(partition, {})[part] = doc
        return docs

    def load(self, partition: int) -> PartitionTotals:
        """The partition's totals (from the cache, else rebuilt from the table)."""
        if partition not in self._cache:
            docs = self.local_docs().get(partition, {})
            self._cache[partition] = totals_from_docs(docs, self.empty())
        return self._cache[partition]

    def save(self, partition: int, before: PartitionTotals, after: PartitionTotals) -> None:
        """Write the parts that changed (call from an agent, on that partition's record)."""
        writes, deletes = changed_docs(before, after)
        for part, doc in writes.items():
            self.table[part_key(partition, part)] = doc
        for part in deletes:
            del self.table[part_key(partition, part)]
        self._cache[partition] = after
        pending_writes, pending_deletes = self.pending.setdefault(partition, ({}, set()))
        pending_writes.update(writes)
        for part in deletes:
            pending_writes.pop(part, None)
        pending_deletes.difference_update(writes)
        pending_deletes.update(deletes)
