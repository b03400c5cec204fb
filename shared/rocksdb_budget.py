"""One RocksDB memory budget per service process, shared by every table partition it opens.

Faust gives each table partition its own block cache and memtables, so a worker's RocksDB memory
grew with the partitions it owned (20 MiB each: 120 MiB for one six-partition table, 240 MiB for
analytics' two), and the cache an idle partition held was never lent to a busy one. Here every
partition of every table of the app reads through one LRU cache, and the memtables, index and
filter blocks are charged to that cache: RocksDB's memory in the process stays near one figure
(`SALESFLOW_ROCKSDB_MEMORY_MIB`) whatever the partitions owned. The options that open a partition
on it are in shared/rocksdb_options.py.

rocksdict is imported only when the first table opens: a service without tables (ingest, routing)
never maps its 7 MiB library.
"""

from __future__ import annotations

import weakref
from typing import Any

from faust.types import AppT

MIB = 1024**2

# Of the budget, how much the memtables of all partitions together may hold before RocksDB flushes
# the one being written to: a quarter leaves the rest for the blocks the handlers read back.
_MEMTABLE_SHARE = 4


class RocksDBBudget:
    """The cache and write-buffer manager that every table partition of one app opens with."""

    def __init__(self, capacity_bytes: int) -> None:
        self.capacity_bytes = capacity_bytes
        self._cache: Any = None
        self._write_buffers: Any = None

    def open(self) -> tuple[Any, Any]:
        """The shared (cache, write-buffer manager), made by the first partition that opens."""
        if self._cache is None:
            import rocksdict

            self._cache = rocksdict.Cache(self.capacity_bytes)
            # allow_stall=False: over the limit RocksDB flushes, it never blocks a handler's write.
            self._write_buffers = rocksdict.WriteBufferManager.new_write_buffer_manager_with_cache(
                self.capacity_bytes // _MEMTABLE_SHARE, False, self._cache
            )
        return self._cache, self._write_buffers

    def usage_bytes(self) -> int:
        """Memory charged to the budget now: cached blocks and reserved memtables (0 before a
        table opened)."""
        return 0 if self._cache is None else int(self._cache.get_usage())


_BUDGETS: weakref.WeakKeyDictionary[AppT, RocksDBBudget] = weakref.WeakKeyDictionary()


def attach_budget(app: AppT, capacity_bytes: int) -> RocksDBBudget:
    """Give `app`'s tables one shared budget (call before its tables open, at start-up)."""
    budget = _BUDGETS[app] = RocksDBBudget(capacity_bytes)
    return budget


def budget_of(app: AppT) -> RocksDBBudget | None:
    return _BUDGETS.get(app)
