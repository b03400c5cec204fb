"""Removing the Redis keys a test or benchmark run wrote under its private prefix.

Runs share one Redis; without this, millions of keys pile up over a day of runs and every SCAN a
later test makes walks them all.
"""

from __future__ import annotations

import redis

SCAN_COUNT = 10_000


def delete_prefixed(redis_url: str, prefix: str) -> int:
    """Delete every key under `prefix`, hash-tagged ones ("{<prefix>...}") included; returns how many."""
    client = redis.Redis.from_url(redis_url)
    deleted = 0
    try:
        for pattern in (f"{prefix}*", f"{{{prefix}*"):
            batch: list[bytes] = []
            for key in client.scan_iter(match=pattern, count=SCAN_COUNT):
                batch.append(key)
                if len(batch) >= SCAN_COUNT:
                    deleted += client.unlink(*batch)
                    batch = []
            if batch:
                deleted += client.unlink(*batch)
    finally:
        client.close()
    return deleted
