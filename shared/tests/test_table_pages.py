"""A table walked a page at a time: every owned entry once, revoked partitions dropped, cache untouched."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import faust
from faust.assignor.client_assignment import ClientAssignment
from faust.stores.rocksdb import Store as RocksDBStore

from shared.config import KafkaSettings, ServiceSettings
from shared.faust_app import create_app
from shared.rocksdb_budget import MIB, attach_budget
from shared.tables import JsonTable

PARTITIONS = 3


def table_at(data_dir: Path, name: str = "leads") -> tuple[faust.App, JsonTable]:
    app = create_app(ServiceSettings("paged", KafkaSettings(), data_dir=str(data_dir)))
    return app, JsonTable(app, name, PARTITIONS)


def write(table: JsonTable, partition: int, entries: dict[str, dict[str, Any]]) -> None:
    """What the table's changelog handler would store (the store needs an event to pick a partition)."""
    store = table.table.data
    assert isinstance(store, RocksDBStore)
    db = store._db_for_partition(partition)
    for key, value in entries.items():
        db[store._encode_key(key)] = store._encode_value(value)


def own(app: faust.App, table: JsonTable, partitions: list[int]) -> None:
    """Stand in for a rebalance's outcome: the assignor's record of the actives this worker owns."""
    app.assignor._assignment = ClientAssignment(actives={table.table.changelog_topic_name: partitions}, standbys={})


def entries(partition: int, count: int) -> dict[str, dict[str, Any]]:
    return {f"p{partition}-{i:04d}": {"n": i, "partition": partition} for i in range(count)}


def test_pages_hold_every_owned_entry_once_and_no_more_than_the_page_size(tmp_path: Path) -> None:
    """Pages of 7 over 0, 7, 20 and 21 entries: a full last page and an empty partition included."""
    app, table = table_at(tmp_path)
    expected: dict[str, dict[str, Any]] = {}
    for partition, count in enumerate((7, 20, 21)):
        write(table, partition, entries(partition, count))
        expected |= entries(partition, count)
    own(app, table, [0, 1, 2])
    pages = list(table.pages(7))
    assert all(0 < len(page) <= 7 for page in pages)
    walked = [key for page in pages for key, _ in page]
    assert len(walked) == len(set(walked)) == 48
    assert dict(item for page in pages for item in page) == expected


def test_partitions_this_worker_does_not_own_are_not_read(tmp_path: Path) -> None:
    """Standby copies live in the same store; only the actives are walked."""
    app, table = table_at(tmp_path)
    for partition in range(PARTITIONS):
        write(table, partition, entries(partition, 5))
    own(app, table, [1])
    assert {value["partition"] for page in table.pages(2) for _, value in page} == {1}


def test_a_partition_revoked_between_pages_is_not_read_any_further(tmp_path: Path) -> None:
    """The walk stops reading a partition once a rebalance took it away, mid-walk."""
    app, table = table_at(tmp_path)
    for partition in range(PARTITIONS):
        write(table, partition, entries(partition, 10))
    own(app, table, [0, 1, 2])
    seen: list[int] = []
    for page in table.pages(4):
        seen.extend(value["partition"] for _, value in page)
        if len(seen) == 4:
            own(app, table, [0, 2])  # partition 0's first page read, then a rebalance
    assert seen.count(0) == 10 and seen.count(1) == 0 and seen.count(2) == 10


def test_an_entry_written_between_pages_past_the_cursor_is_read(tmp_path: Path) -> None:
    """Each page seeks afresh, so it sees the table as it is now, not a snapshot."""
    app, table = table_at(tmp_path)
    write(table, 0, entries(0, 4))
    own(app, table, [0])
    walked: list[str] = []
    for page in table.pages(2):
        walked.extend(key for key, _ in page)
        if len(walked) == 2:
            write(table, 0, {"p0-9999": {"n": 9999, "partition": 0}})
    assert walked == ["p0-0000", "p0-0001", "p0-0002", "p0-0003", "p0-9999"]


def test_a_walk_leaves_the_block_cache_as_it_found_it(tmp_path: Path) -> None:
    """Reading 12 MiB back a page at a time charges the shared cache nothing; the same entries read
    through the table's own items() fill it. Both start from flushed data, nothing cached."""
    app, table = table_at(tmp_path)
    budget = attach_budget(app, 64 * MIB)
    other = JsonTable(app, "deals", PARTITIONS)
    padding = "x" * 1024
    for t in (table, other):
        for partition in range(PARTITIONS):
            write(t, partition, {f"p{partition}-{i:05d}": {"pad": padding} for i in range(4000)})
        store = t.table.data
        assert isinstance(store, RocksDBStore)
        for db in store._dbs.values():
            db.flush()
    app.assignor._assignment = ClientAssignment(
        actives={t.table.changelog_topic_name: [0, 1, 2] for t in (table, other)}, standbys={}
    )
    before = budget.usage_bytes()
    assert sum(len(page) for page in table.pages(500)) == 12_000
    paged = budget.usage_bytes() - before
    assert sum(1 for _ in other.items()) == 12_000
    iterated = budget.usage_bytes() - before - paged
    assert paged < MIB < iterated
