"""A Faust table of JSON documents keyed by string.

Faust serialises tables with its JSON codec (whatever the app's topic serializers are), so what
recovery reads back from the changelog is exactly the dict that was written. The wrapper keeps
services to that one shape: str keys, JSON-object values.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import faust
from faust.types import FutureMessage, StoreT
from yarl import URL

from shared.batching import track_outputs
from shared.faust_app import ROCKSDB_OPTIONS
from shared.rocksdb_options import budget_store
from shared.table_pages import table_pages


def tables_ready(app: faust.App) -> bool:
    """True when no rebalance is running and the tables have recovered from their changelogs:
    before that a table holds only part of its partitions' state."""
    tables: Any = app.tables  # TableManagerT does not declare the recovery its implementation has
    return not app.rebalancing and bool(tables and tables.recovery.completed.is_set())


class TrackedTable(faust.Table[str, Any]):
    """A Faust table whose changelog records join the batch being handled.

    Faust commits a record's offset without waiting for the changelog records its handler wrote;
    killed then, a worker restarts with the input committed and the state change gone: a restart
    applies older changelog records over the newer local value (measured: three engagement events
    of a lead lost, tests/integration/test_table_recovery.py). Tracked, they are acknowledged
    before the batch's records are.
    """

    def _new_store_by_url(self, url: str | URL) -> StoreT[Any, Any]:
        return budget_store(super()._new_store_by_url(url), self.app)

    def send_changelog(self, *args: Any, **kwargs: Any) -> FutureMessage:
        sent: FutureMessage = super().send_changelog(*args, **kwargs)
        track_outputs([sent])
        return sent


class JsonTable:
    """Dict-like access to a changelogged RocksDB table of JSON objects."""

    def __init__(self, app: faust.App, name: str, partitions: int) -> None:
        # What app.Table does, with the tracking class.
        table = TrackedTable(
            app,
            name=name,
            default=None,
            beacon=app.tables.beacon,
            partitions=partitions,
            key_type=str,
            value_type=None,
            options=dict(ROCKSDB_OPTIONS),
        )
        app.tables.add(table)
        self.table = table

    def get(self, key: str) -> dict[str, Any] | None:
        value: dict[str, Any] | None = self.table.get(key)
        return value

    def __setitem__(self, key: str, value: dict[str, Any]) -> None:
        self.table[key] = value

    def __delitem__(self, key: str) -> None:
        del self.table[key]

    def items(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Entries of the partitions this worker owns."""
        yield from self.table.items()

    def pages(self, size: int) -> Iterator[list[tuple[str, dict[str, Any]]]]:
        """The same entries, `size` at a time, for a walk that awaits between pages (table_pages)."""
        yield from table_pages(self.table, size)
