"""Every partition of every table of an app opens on the app's one RocksDB budget, and stays in it."""

from __future__ import annotations

from pathlib import Path

import faust
import pytest
from faust.stores.rocksdb import Store as RocksDBStore

from shared.config import KafkaSettings, ServiceSettings
from shared.faust_app import ROCKSDB_OPTIONS, create_app
from shared.rocksdb_budget import MIB, attach_budget
from shared.rocksdb_options import BudgetedOptions
from shared.tables import JsonTable

PARTITIONS = 6


def app_at(data_dir: Path) -> faust.App:
    settings = ServiceSettings("budgeted", KafkaSettings(), data_dir=str(data_dir))
    return create_app(settings)


def write(store: RocksDBStore, records: int, value_bytes: int) -> None:
    value = b"x" * value_bytes
    for partition in range(PARTITIONS):
        db = store._db_for_partition(partition)
        for i in range(records):
            db[f"{partition}-{i}".encode()] = value


def read_back(store: RocksDBStore, records: int) -> None:
    for partition in range(PARTITIONS):
        db = store._db_for_partition(partition)
        assert sum(1 for _ in db.keys()) == records  # noqa: SIM118 - Rdict has no key iterator of its own
        for i in range(0, records, 7):
            assert len(db[f"{partition}-{i}".encode()]) > 0


def test_two_tables_in_six_partitions_stay_within_one_budget(tmp_path: Path) -> None:
    """36 MiB written and read back through 12 partitions. Blocks stay within the shared capacity;
    memtables are charged to it too, and an idle partition keeps its last one (RocksDB flushes only
    the partition being written), so the bound is the capacity plus one memtable per partition.
    Without the shared cache nothing would be charged; with an unbounded one the blocks read back
    alone would pass the bound."""
    app = app_at(tmp_path)
    budget = attach_budget(app, 8 * MIB)
    stores = [JsonTable(app, name, PARTITIONS).table.data for name in ("leads", "deals")]
    assert all(isinstance(s, RocksDBStore) and isinstance(s.rocksdb_options, BudgetedOptions) for s in stores)
    for store in stores:
        write(store, 3000, 1024)
    written = budget.usage_bytes()
    for store in stores:
        read_back(store, 3000)
    assert budget.usage_bytes() > written, "the blocks read back are in the shared cache"
    memtables = 2 * PARTITIONS * ROCKSDB_OPTIONS["write_buffer_size"]
    assert budget.usage_bytes() <= budget.capacity_bytes + memtables


def test_an_app_without_a_budget_keeps_fausts_own_options(tmp_path: Path) -> None:
    store = JsonTable(app_at(tmp_path), "leads", PARTITIONS).table.data
    assert isinstance(store, RocksDBStore)
    assert type(store.rocksdb_options) is not BudgetedOptions


@pytest.mark.parametrize("capacity_mib", [4, 16])
def test_the_memtables_are_charged_to_the_budget(tmp_path: Path, capacity_mib: int) -> None:
    """Writes alone (nothing read back yet) already show in the budget: the memtables count."""
    app = app_at(tmp_path)
    budget = attach_budget(app, capacity_mib * MIB)
    store = JsonTable(app, "leads", PARTITIONS).table.data
    assert isinstance(store, RocksDBStore)
    db = store._db_for_partition(0)
    before = budget.usage_bytes()
    for i in range(2000):
        db[f"k{i}".encode()] = b"y" * 512
    assert budget.usage_bytes() > before
