"""The Redis client every service uses, and a timed call that feeds the Redis metrics.

Connection errors surface as `TransientFailure` so the runtime retries instead of dead-lettering.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable
from typing import TypeVar

import redis.asyncio as redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from shared.errors import TransientFailure
from shared.metrics import ServiceMetrics

T = TypeVar("T")


def create_redis(url: str) -> redis.Redis:
    """A pooled client; AUTH and TLS come from the URL (redis://user:pass@host, rediss://)."""
    return redis.Redis.from_url(
        url, socket_timeout=2.0, socket_connect_timeout=2.0, health_check_interval=15, decode_responses=False
    )


async def timed(metrics: ServiceMetrics, call: Awaitable[T]) -> T:
    """Await a Redis call, recording its latency; connection trouble becomes TransientFailure."""
    started = time.perf_counter()
    try:
        return await call
    except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
        metrics.redis_errors.inc()
        raise TransientFailure(f"redis unavailable: {exc}") from exc
    finally:
        metrics.redis_command_seconds.observe(time.perf_counter() - started)


async def redis_reachable(client: redis.Redis) -> bool:
    try:
        return bool(await client.ping())
    except (RedisConnectionError, RedisTimeoutError, OSError):
        return False
