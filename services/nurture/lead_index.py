"""Redis views of the lead table that every worker can read, whatever partitions it owns: each
lead's enrolments (the API's read model), the known contacts of each company domain, and the
live enrolments at each company domain.

Written by the lead's partition on every change (after its timers, before its table write), so a
replayed change rewrites the same values. Every call goes through shared.redis_client.timed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import redis.asyncio as redis
from redis.asyncio.client import Pipeline

from shared.metrics import ServiceMetrics
from shared.redis_client import timed


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class LeadIndex:
    """`lead-enrolments:<lead>`, `company-contacts:<domain>` and `company-live:<domain>`."""

    def __init__(self, client: redis.Redis, key: Callable[..., str], metrics: ServiceMetrics) -> None:
        self._client, self._key, self._metrics = client, key, metrics

    def queue_publish(self, pipe: Pipeline, lead_id: str, stored: dict[str, Any]) -> None:
        """Replace the lead's enrolments in the read model from the record as the table stores it
        (serialised once per change, for both)."""
        view = {"lead_id": lead_id, "enrolments": stored["enrolments"]}
        pipe.set(self._key("lead-enrolments", lead_id), json.dumps(view))

    async def enrolments(self, lead_id: str) -> dict[str, Any] | None:
        """The lead's enrolments as last published, or None for a lead nurture does not know."""
        raw = await timed(self._metrics, self._client.get(self._key("lead-enrolments", lead_id)))
        return None if raw is None else dict(json.loads(raw))

    def queue_live(self, pipe: Pipeline, domain: str, live: set[str], ended: set[str]) -> None:
        """Add the lead's live enrolments to its company's set and take its ended ones out."""
        if live:
            pipe.sadd(self._key("company-live", domain), *live)
        if ended:
            pipe.srem(self._key("company-live", domain), *ended)

    async def live_at(self, domain: str) -> set[str]:
        """Every live enrolment at the company, as `<enrolment_id>:<lead_id>` members."""
        members = await timed(self._metrics, self._client.smembers(self._key("company-live", domain)))
        return {_text(m) for m in members}

    def queue_contact(self, pipe: Pipeline, domain: str, lead_id: str) -> None:
        """Remember the lead as a contact of its company (what onboarding a won deal reaches)."""
        pipe.sadd(self._key("company-contacts", domain), lead_id)

    async def contacts(self, domain: str) -> set[str]:
        """The lead ids known at the company."""
        members = await timed(self._metrics, self._client.smembers(self._key("company-contacts", domain)))
        return {_text(m) for m in members}

    async def forget(self, lead_id: str, domain: str | None, members: set[str]) -> list[str]:
        """Drop the lead from the read model and its company's sets; returns what held something."""
        pipe = self._client.pipeline(transaction=False)
        pipe.delete(self._key("lead-enrolments", lead_id))
        names = ["redis:enrolment-view"]
        if domain is not None:
            pipe.srem(self._key("company-contacts", domain), lead_id)
            names.append("redis:company-contacts")
            if members:
                pipe.srem(self._key("company-live", domain), *members)
                names.append("redis:company-enrolments")
        counts = await timed(self._metrics, pipe.execute())
        return [name for name, count in zip(names, counts, strict=True) if count]
