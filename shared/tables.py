"""A Faust table of JSON documents keyed by string, over the app's raw (bytes) serializers.

Topics carry Avro bytes, so the app's serializers are raw; this wrapper encodes table keys and
values itself, so what recovery reads back from the changelog is exactly what was written.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import faust


class JsonTable:
    """Dict-like access to a changelogged RocksDB table of JSON objects."""

    def __init__(self, app: faust.App, name: str, partitions: int) -> None:
        self.table = app.Table(name, default=None, partitions=partitions)

    def get(self, key: str) -> dict[str, Any] | None:
        raw = self.table.get(key.encode())
        return None if raw is None else json.loads(raw)

    def __setitem__(self, key: str, value: dict[str, Any]) -> None:
        self.table[key.encode()] = json.dumps(value, separators=(",", ":"), sort_keys=True).encode()

    def __delitem__(self, key: str) -> None:
        del self.table[key.encode()]

    def items(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Entries of the partitions this worker owns."""
        for key, raw in self.table.items():
            yield key.decode(), json.loads(raw)
