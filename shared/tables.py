"""A Faust table of JSON documents keyed by string.

Faust serialises tables with its JSON codec (whatever the app's topic serializers are), so what
recovery reads back from the changelog is exactly the dict that was written. The wrapper keeps
services to that one shape: str keys, JSON-object values.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import faust

from shared.faust_app import ROCKSDB_OPTIONS


class JsonTable:
    """Dict-like access to a changelogged RocksDB table of JSON objects."""

    def __init__(self, app: faust.App, name: str, partitions: int) -> None:
        self.table = app.Table(
            name, default=None, partitions=partitions, key_type=str, value_type=None, options=dict(ROCKSDB_OPTIONS)
        )

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
