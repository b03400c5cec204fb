"""Each owned partition's totals, recounted from the leads and deals tables after every
rebalance and kept current by the folds, and the parts not yet published to Redis.

Never writes a table: the totals are derived from the entities, which hold the only state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiokafka.partitioner import murmur2

from services.analytics.entities import DealState, LeadState, deal_state_from_dict, lead_state_from_dict, recount
from services.analytics.speed import SlaPolicy
from services.analytics.totals import PartitionTotals, changed_docs, totals_docs
from shared.tables import JsonTable

Change = tuple[dict[str, Any], set[str]]  # parts to write (name -> document), parts to delete


def merge_changes(older: Change, newer: Change) -> Change:
    """One change with the effect of `older` then `newer`: a part's last write or delete wins."""
    (older_writes, older_deletes), (newer_writes, newer_deletes) = older, newer
    writes = {k: v for k, v in older_writes.items() if k not in newer_deletes} | newer_writes
    return writes, (older_deletes - newer_writes.keys()) | newer_deletes


class TotalsCache:
    """Totals per owned partition, recounted on first use after a rebalance."""

    def __init__(
        self,
        leads: JsonTable,
        deals: JsonTable,
        empty: Callable[[], PartitionTotals],
        policy: SlaPolicy,
        ready: Callable[[], bool],
        partitions: int = 6,
    ) -> None:
        self.leads, self.deals, self.empty, self.policy, self.ready = leads, deals, empty, policy, ready
        self.partitions = partitions
        self._cache: dict[int, PartitionTotals] | None = None
        # Parts changed since the last publish: written docs and deleted names, per partition.
        self.pending: dict[int, Change] = {}

    def reset(self) -> None:
        """Forget the totals (partitions may have moved); the tables are the truth."""
        self._cache = None
        self.pending.clear()

    def owned(self) -> dict[int, PartitionTotals]:
        """Totals of every owned partition holding an entity; empty until the tables recovered."""
        return self._totals() if self._cache is not None or self.ready() else {}

    def _totals(self) -> dict[int, PartitionTotals]:
        # Agents fold only once recovery is complete, so their first call may recount.
        if self._cache is None:
            self._cache = self._recount()
        return self._cache

    def _recount(self) -> dict[int, PartitionTotals]:
        leads: dict[int, list[LeadState]] = {}
        deals: dict[int, list[DealState]] = {}
        for key, value in self.leads.items():
            lead = lead_state_from_dict(value, self.partition_of(key))
            leads.setdefault(lead.partition, []).append(lead)
        for key, value in self.deals.items():
            deal = deal_state_from_dict(value, self.partition_of(key))
            deals.setdefault(deal.partition, []).append(deal)
        return {p: recount(leads.get(p, []), deals.get(p, []), self.empty(), self.policy) for p in {*leads, *deals}}

    def partition_of(self, key: str) -> int:
        """Where the Java client's partitioner (murmur2, aiokafka's too) puts a key: only for
        values written before states carried their partition."""
        hashed: int = murmur2(key.encode())
        return (hashed & 0x7FFFFFFF) % self.partitions

    def local_docs(self) -> dict[int, dict[str, dict[str, Any]]]:
        """Documents of the owned partitions' totals, by partition."""
        return {partition: totals_docs(totals) for partition, totals in self.owned().items()}

    def partition_docs(self, partition: int) -> dict[str, dict[str, Any]]:
        """Documents of one owned partition's totals (none when it holds no entity)."""
        totals = self.owned().get(partition)
        return {} if totals is None else totals_docs(totals)

    def load(self, partition: int) -> PartitionTotals:
        """The partition's totals (empty when it holds no entity yet)."""
        return self._totals().get(partition) or self.empty()

    def save(self, partition: int, before: PartitionTotals, after: PartitionTotals) -> None:
        """Keep the folded totals and note the parts the next publish must write or delete."""
        self._totals()[partition] = after
        older = self.pending.get(partition, ({}, set()))
        writes, deletes = changed_docs(before, after)
        self.pending[partition] = merge_changes(older, (writes, set(deletes)))

    def restore(self, partition: int, writes: dict[str, Any], deletes: set[str]) -> None:
        """Put back a change whose publish failed, under any change noted since (which is newer)."""
        newer = self.pending.get(partition, ({}, set()))
        self.pending[partition] = merge_changes((writes, deletes), newer)
