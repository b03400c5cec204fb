"""Records the framework skipped: a partition's offsets must follow on, or the hole is fetched again.

Faust can drop a record it already fetched while a table recovery ends or a rebalance runs (its
flow control clears the stream's queue, expecting a seek back), and it commits past a one-record
hole right after its committed offset. Measured: lost engagement events after a scoring restart
(tests/integration/test_table_recovery.py, two runs in six). The runtime asks `admit` for every
record: a record past a hole is not handled and the partition is sought back to the hole; the
records still queued behind it are dropped unacknowledged (the seek fetches them again). A hole
seen again from the same record is real (compaction, transaction markers) and is let through.
Pure: no Kafka here; the runtime seeks, and seeks again while records queued before its seek
arrive (Faust's fetch loop reads them after the seek and would discard the refetch as already read).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Handle:
    """Handle the record."""


@dataclass(frozen=True)
class Refetch:
    """Skip the record and seek the partition back to `offset`."""

    offset: int


@dataclass(frozen=True)
class Drop:
    """Skip the record unacknowledged: the refetch from `refetching` delivers it again."""

    refetching: int


HANDLE = Handle()
Verdict = Handle | Refetch | Drop


class OffsetHoles:
    """Per partition, the next offset due and any hole being fetched again."""

    def __init__(self) -> None:
        self._next: dict[Hashable, int] = {}
        self._refetching: dict[Hashable, tuple[int, int]] = {}  # hole start, offset that showed it

    def admit(self, partition: Hashable, offset: int, committed: int | None = None) -> Verdict:
        """What to do with the record at `offset`; `committed` (the group's committed offset, if
        known) is due for a partition's first record."""
        refetching = self._refetching.get(partition)
        if refetching is not None:
            start, shown_by = refetching
            if offset > start and offset != shown_by:
                return Drop(start)  # queued before the seek; a real hole shows its first record again
            del self._refetching[partition]
        else:
            due = self._next.get(partition, committed)
            if due is not None and offset > due:
                self._refetching[partition] = (due, offset)
                return Refetch(due)
        # Offsets going back are a seek (a rebalance, a restart): whatever follows is due next.
        self._next[partition] = offset + 1
        return HANDLE

    def forget(self, partitions: Iterable[Hashable]) -> None:
        """Partitions revoked: whoever owns them next starts from the committed offset."""
        for partition in partitions:
            self._next.pop(partition, None)
            self._refetching.pop(partition, None)
