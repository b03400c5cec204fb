"""Per-key request limits shared by every replica: a fixed one-second window counted in Redis.

A request over the limit is refused with the seconds to wait; nothing is queued.
"""

from __future__ import annotations

import math
import time

import redis.asyncio as redis

from shared.metrics import ServiceMetrics
from shared.redis_client import timed


class RateLimiter:
    def __init__(self, client: redis.Redis, prefix: str, per_second: int, metrics: ServiceMetrics) -> None:
        self._client, self._prefix, self.per_second, self._metrics = client, prefix, per_second, metrics

    async def retry_after(self, key_id: str, now: float | None = None) -> int:
        """0 when the request may go ahead, else whole seconds until the next window."""
        if self.per_second <= 0:
            return 0
        now = time.time() if now is None else now
        window = math.floor(now)
        key = f"{self._prefix}{key_id}:{window}"
        pipe = self._client.pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, 2)
        count, _ = await timed(self._metrics, pipe.execute())
        return 0 if int(count) <= self.per_second else max(1, math.ceil(window + 1 - now))
