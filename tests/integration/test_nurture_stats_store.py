"""nurture's A/B counts on a real Redis: an email's open is counted once, whatever is redelivered."""

from __future__ import annotations

import asyncio
import uuid

import redis.asyncio as redis
from prometheus_client import CollectorRegistry

from services.nurture.stats_store import SentEmail, StatsStore
from shared.metrics import ServiceMetrics
from tests.integration.harness import Infra
from tools.redis_keys import delete_prefixed


def test_each_engagement_with_an_email_is_counted_once(infra: Infra) -> None:
    prefix = f"t{uuid.uuid4().hex[:10]}:"
    email = SentEmail("ops-rep", "intro", "b", "<m1@salesflow>")

    async def scenario() -> tuple[list[bool], dict[bytes, bytes], int]:
        client = redis.Redis.from_url(infra.redis_url)
        try:
            metrics = ServiceMetrics.create("nurture", CollectorRegistry())
            stats = StatsStore(client, lambda *parts: prefix + ":".join(parts), metrics, ttl=3600)
            counted = [await stats.count_engagement(email, m) for m in ("opens", "opens", "replies", "opens")]
            counts = await client.hgetall(f"{prefix}stats:ops-rep")
            return counted, counts, await client.ttl(f"{prefix}engaged:opens:<m1@salesflow>")
        finally:
            await client.aclose()

    try:
        counted, stats, ttl = asyncio.run(scenario())
    finally:
        delete_prefixed(infra.redis_url, prefix)
    assert counted == [True, False, True, False]
    assert {k.decode(): int(v) for k, v in stats.items()} == {"intro|b|opens": 1, "intro|b|replies": 1}
    assert 0 < ttl <= 3600
