"""The roster every routing replica shares: a Redis hash rep_id -> RepProfile JSON.

reps.roster has one partition, so one replica consumes it and writes here; every replica reads
(with a short cache, so a burst of leads costs one round trip).
"""

from __future__ import annotations

import json
import time
from typing import Any

import redis.asyncio as redis

from services.routing.roster import Rep, rep_from_dict
from shared.metrics import ServiceMetrics
from shared.redis_client import timed


class RosterStore:
    def __init__(self, client: redis.Redis, key: str, metrics: ServiceMetrics, cache_seconds: float) -> None:
        self._client, self._key, self._metrics, self._ttl = client, key, metrics, cache_seconds
        self._cached: dict[str, Rep] = {}
        self._loaded_at = float("-inf")

    async def upsert(self, record: dict[str, Any]) -> Rep:
        rep = rep_from_dict(record)
        await timed(self._metrics, self._client.hset(self._key, rep.rep_id, json.dumps(record, default=str)))
        self._loaded_at = float("-inf")
        return rep

    async def reps(self) -> dict[str, Rep]:
        if time.monotonic() - self._loaded_at > self._ttl:
            raw = await timed(self._metrics, self._client.hgetall(self._key))
            self._cached = {rep.rep_id: rep for rep in (rep_from_dict(json.loads(v)) for v in raw.values())}
            self._loaded_at = time.monotonic()
        return self._cached
