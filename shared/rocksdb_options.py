"""Faust's RocksDB options with the app's shared budget (shared/rocksdb_budget.py) in place of a
cache of each partition's own. Imported by shared/tables.py, so only services with tables load
RocksDB.
"""

from __future__ import annotations

from typing import Any

import rocksdict
from faust.stores.rocksdb import RocksDBOptions
from faust.stores.rocksdb import Store as RocksDBStore
from faust.types import AppT, StoreT

from shared.rocksdb_budget import RocksDBBudget, budget_of


class BudgetedOptions(RocksDBOptions):
    """Faust's rocksdict options with the shared cache and write-buffer manager in place of a
    cache of the partition's own."""

    def __init__(self, budget: RocksDBBudget, **options: Any) -> None:
        super().__init__(**options)
        self.budget = budget

    @classmethod
    def replacing(cls, options: RocksDBOptions, budget: RocksDBBudget) -> BudgetedOptions:
        return cls(
            budget,
            max_open_files=options.max_open_files,
            write_buffer_size=options.write_buffer_size,
            max_write_buffer_number=options.max_write_buffer_number,
            target_file_size_base=options.target_file_size_base,
            bloom_filter_size=options.bloom_filter_size,
            use_rocksdict=options.use_rocksdict,
            ttl=options.ttl,
            **options.extra_options,
        )

    def as_options(self) -> Any:
        """What Faust's rocksdict branch builds, but every partition opens on the one budget."""
        options = rocksdict.Options(raw_mode=True)
        options.create_if_missing(True)
        options.set_max_open_files(self.max_open_files or -1)  # -1: RocksDB's unlimited
        options.set_write_buffer_size(self.write_buffer_size)
        options.set_target_file_size_base(self.target_file_size_base)
        options.set_max_write_buffer_number(self.max_write_buffer_number)
        cache, write_buffers = self.budget.open()
        options.set_write_buffer_manager(write_buffers)
        table = rocksdict.BlockBasedOptions()
        table.set_bloom_filter(self.bloom_filter_size, block_based=True)
        table.set_block_cache(cache)
        # Index and filter blocks count against the budget too, instead of growing with the files.
        table.set_cache_index_and_filter_blocks(True)
        table.set_pin_l0_filter_and_index_blocks_in_cache(True)
        table.set_index_type(rocksdict.BlockBasedIndexType.binary_search())
        options.set_block_based_table_factory(table)
        return options


def budget_store(store: StoreT[Any, Any], app: AppT) -> StoreT[Any, Any]:
    """The table's store, opening its partitions on the app's budget when it has one.

    Only Faust's rocksdict driver is covered; another store (memory, python-rocksdb) is returned as
    it is.
    """
    budget = budget_of(app)
    if budget is not None and isinstance(store, RocksDBStore) and store.rocksdb_options.use_rocksdict:
        store.rocksdb_options = BudgetedOptions.replacing(store.rocksdb_options, budget)
    return store
