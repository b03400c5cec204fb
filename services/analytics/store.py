"""The Redis read model: one hash per partition holding its totals' documents, and the reps'
capacities. Workers write their own partitions; any replica reads them all.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from shared.redis_client import timed
from shared.runtime import ServiceRuntime

Docs = dict[str, dict[str, Any]]


class ReadModel:
    """Totals documents by partition in Redis (field = part name, value = JSON)."""

    def __init__(self, runtime: ServiceRuntime, partitions: int) -> None:
        self.runtime, self.partitions = runtime, partitions

    def _key(self, partition: int) -> str:
        return self.runtime.redis_key("totals", str(partition))

    async def update(self, partition: int, writes: Mapping[str, Any], deletes: set[str]) -> None:
        """Write changed parts and drop deleted ones, atomically."""
        pipe = self.runtime.redis.pipeline(transaction=True)
        if writes:
            pipe.hset(self._key(partition), mapping={k: json.dumps(v) for k, v in writes.items()})
        if deletes:
            pipe.hdel(self._key(partition), *deletes)
        await timed(self.runtime.metrics, pipe.execute())

    async def replace(self, partition: int, docs: Mapping[str, Any]) -> None:
        """Make the partition's hash exactly `docs` (after an assignment: drops a stale owner's parts)."""
        pipe = self.runtime.redis.pipeline(transaction=True)
        pipe.delete(self._key(partition))
        if docs:
            pipe.hset(self._key(partition), mapping={k: json.dumps(v) for k, v in docs.items()})
        await timed(self.runtime.metrics, pipe.execute())

    async def read_all(self) -> list[Docs]:
        """Every partition's documents (empty for a partition nobody has published)."""
        pipe = self.runtime.redis.pipeline(transaction=False)
        for partition in range(self.partitions):
            pipe.hgetall(self._key(partition))
        hashes: list[dict[bytes, bytes]] = await timed(self.runtime.metrics, pipe.execute())
        return [{k.decode(): json.loads(v) for k, v in h.items()} for h in hashes]

    async def set_capacity(self, rep_id: str, capacity: int | None) -> None:
        """A rep's open-lead capacity from the roster; None removes the rep."""
        key = self.runtime.redis_key("capacity")
        call = (
            self.runtime.redis.hdel(key, rep_id) if capacity is None else self.runtime.redis.hset(key, rep_id, capacity)
        )
        await timed(self.runtime.metrics, call)

    async def capacities(self) -> dict[str, int]:
        """Capacity per rep, as the roster last said."""
        raw: dict[Any, Any] = await timed(
            self.runtime.metrics, self.runtime.redis.hgetall(self.runtime.redis_key("capacity"))
        )
        return {k.decode(): int(v) for k, v in raw.items()}
