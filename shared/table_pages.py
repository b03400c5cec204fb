"""A Faust table's owned entries read a page at a time, for walks that await between pages.

Only reads: the caller decides what to do with each page. Reaches into Faust's RocksDB store
(its partition databases and offset key), which no public API exposes.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from typing import Any

import faust
from faust.stores.rocksdb import Store as RocksDBStore
from faust.types import TP


def table_pages(table: faust.Table[Any, Any], size: int) -> Iterator[list[tuple[Any, Any]]]:
    """The entries of the partitions this worker owns, at most `size` per page, in key order
    within a partition.

    No RocksDB iterator lives across a page: each page seeks afresh past the last key read, so the
    caller may await between pages, and a partition revoked meanwhile is not read any further
    (its remaining entries are skipped; a partition assigned meanwhile waits for the next walk).
    The pages do not fill the block cache: a walk over the whole table would evict the blocks the
    handlers are using, and what it read would stay resident until evicted.
    """
    store = table.data
    if not isinstance(store, RocksDBStore) or not store.use_rocksdict:
        # Every service's tables are on RocksDB through rocksdict (shared/faust_app.py).
        raise TypeError(f"table {table.name} is not on Faust's rocksdict store; it cannot be paged")
    for partition in sorted(store._dbs):
        after: bytes | None = None
        while (db := _owned_db(table, store, partition)) is not None:
            raw = _read_page(db, after, size, store.offset_key)
            if raw:
                yield [(store._decode_key(key), store._decode_value(value)) for key, value in raw]
            if len(raw) < size:
                break
            after = raw[-1][0]


def _owned_db(table: faust.Table[Any, Any], store: RocksDBStore, partition: int) -> Any:
    """The partition's database while this worker still owns the partition, else None."""
    db = store._dbs.get(partition)
    if db is None or table.is_global:
        return db
    owned = TP(table.changelog_topic_name, partition) in table.app.assignor.assigned_actives()
    return db if owned else None


def _read_page(db: Any, after: bytes | None, size: int, skipped: bytes) -> list[tuple[bytes, bytes]]:
    """Up to `size` items with keys past `after`; the iterator is dropped before returning."""
    import rocksdict  # loaded by the store already; imported here to keep this module light

    read_options = rocksdict.ReadOptions()
    read_options.fill_cache(False)  # type: ignore[call-arg]  # the stub omits the flag the binding takes
    items = db.items(from_key=after, read_opt=read_options)
    wanted = ((k, v) for k, v in items if k != after and k != skipped)
    return list(islice(wanted, size))
