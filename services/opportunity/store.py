"""The Redis side of opportunity: the read model every replica serves GETs from, and alert claims.

Only plumbing: what to store is decided by the caller; Redis outages surface as TransientFailure.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable
from typing import Any, TypeVar

import redis.asyncio as redis

from shared.metrics import ServiceMetrics
from shared.redis_client import timed

T = TypeVar("T")

# Writes a deal's document unless a newer version is stored (a replay after a crash must not
# roll the read model back), and moves its id between the owner and stage index sets.
# KEYS: deal hash, owner set, stage set, all set. ARGV: version, document, opportunity id.
_SAVE = """
local current = tonumber(redis.call('HGET', KEYS[1], 'version') or '-1')
if current > tonumber(ARGV[1]) then return 0 end
local old_owner = redis.call('HGET', KEYS[1], 'owner_set')
local old_stage = redis.call('HGET', KEYS[1], 'stage_set')
if old_owner and old_owner ~= KEYS[2] then redis.call('SREM', old_owner, ARGV[3]) end
if old_stage and old_stage ~= KEYS[3] then redis.call('SREM', old_stage, ARGV[3]) end
redis.call('HSET', KEYS[1], 'version', ARGV[1], 'document', ARGV[2], 'owner_set', KEYS[2], 'stage_set', KEYS[3])
redis.call('SADD', KEYS[2], ARGV[3])
redis.call('SADD', KEYS[3], ARGV[3])
redis.call('SADD', KEYS[4], ARGV[3])
return 1
"""


class OpportunityStore:
    """Keys: <prefix>deal:<id> (hash), owner:<owner>, stage:<stage>, all (sets), alert:<id>:<key>."""

    def __init__(self, client: redis.Redis, prefix: str, metrics: ServiceMetrics, alert_ttl_seconds: int) -> None:
        self.client, self.prefix, self.metrics = client, prefix, metrics
        self.alert_ttl_seconds = alert_ttl_seconds
        self._save = client.register_script(_SAVE)

    def _key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    async def _timed(self, call: Awaitable[T]) -> T:
        return await timed(self.metrics, call)

    async def save(
        self, opportunity_id: str, owner_id: str, stage: str, version: int, document: dict[str, Any]
    ) -> bool:
        """Store a deal's document; False when a newer version is already there."""
        keys = [self._key("deal", opportunity_id), self._key("owner", owner_id), self._key("stage", stage)]
        body = json.dumps(document, separators=(",", ":"), sort_keys=True)
        saved = await self._timed(self._save(keys=[*keys, self._key("all")], args=[version, body, opportunity_id]))
        return bool(saved)

    async def get(self, opportunity_id: str) -> dict[str, Any] | None:
        raw = await self._timed(self.client.hget(self._key("deal", opportunity_id), "document"))
        return None if raw is None else _loads(raw)

    async def query(self, owner: str | None, stage: str | None, limit: int) -> list[dict[str, Any]]:
        """Deals matching both filters (either may be None), ordered by id, at most limit."""
        sets = [self._key(k, v) for k, v in (("owner", owner), ("stage", stage)) if v]
        members = await self._timed(self.client.sinter(sets or [self._key("all")]))
        ids = sorted(m.decode() if isinstance(m, bytes) else m for m in members)[:limit]
        if not ids:
            return []
        pipe = self.client.pipeline(transaction=False)
        for opportunity_id in ids:
            pipe.hget(self._key("deal", opportunity_id), "document")
        found = await self._timed(pipe.execute())
        return [_loads(raw) for raw in found if raw is not None]

    async def claim_alert(self, opportunity_id: str, alert_key: str) -> bool:
        """True exactly once per (deal, alert key) within the TTL: the send-once guard."""
        key = self._key("alert", opportunity_id, alert_key)
        return bool(await self._timed(self.client.set(key, b"1", nx=True, ex=self.alert_ttl_seconds)))

    async def release_alert(self, opportunity_id: str, alert_key: str) -> None:
        """Give a claim back when the alert could not be sent, so a later tick sends it."""
        await self._timed(self.client.delete(self._key("alert", opportunity_id, alert_key)))


def _loads(raw: bytes | str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(raw)
    return document
