"""A mailbox's throttle on a real Redis: held steps book slots of their own, in order, that keep
every cap, and a booked step is let through when it fires."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import redis.asyncio as redis
from prometheus_client import CollectorRegistry

from services.nurture.caps import Cap, respects
from services.nurture.store import NurtureStore
from shared.metrics import ServiceMetrics
from tests.integration.harness import Infra
from tools.redis_keys import delete_prefixed

T = TypeVar("T")
T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
MAILBOX = "rep@salesflow.example"


def on_store(infra: Infra, scenario: Callable[[NurtureStore, redis.Redis], Awaitable[T]]) -> T:
    prefix = f"t{uuid.uuid4().hex[:10]}:"

    async def run() -> T:
        client = redis.Redis.from_url(infra.redis_url)
        try:
            metrics = ServiceMetrics.create("nurture", CollectorRegistry())
            store = NurtureStore(client, lambda *parts: prefix + ":".join(parts), metrics, send_once_ttl=3600)
            return await scenario(store, client)
        finally:
            await client.aclose()

    try:
        return asyncio.run(run())
    finally:
        delete_prefixed(infra.redis_url, prefix)


def test_held_steps_queue_in_slots_of_their_own(infra: Infra) -> None:
    caps = (Cap(2, timedelta(minutes=1)),)

    async def scenario(store: NurtureStore, _: redis.Redis) -> tuple[list[bool], list[datetime], list[bool]]:
        admitted = [await store.admit(MAILBOX, f"s{n}", T0, caps) for n in range(3)]
        slots = [await store.book(MAILBOX, f"s{n}", T0, T0, caps) for n in range(2, 6)]
        # Each booked step fires at its slot and is let through; a new step at the first slot queues behind.
        fired = [await store.admit(MAILBOX, f"s{n}", slot, caps) for n, slot in zip(range(2, 6), slots, strict=True)]
        return admitted, slots, [*fired, await store.admit(MAILBOX, "late", slots[0], caps)]

    admitted, slots, fired = on_store(infra, scenario)
    minute = timedelta(minutes=1)
    assert admitted == [True, True, False]
    assert slots == [T0 + minute, T0 + minute, T0 + 2 * minute, T0 + 2 * minute]
    assert fired == [True, True, True, True, False]


def test_a_booking_keeps_its_slot_or_moves_back_never_forward(infra: Infra) -> None:
    caps = (Cap(1, timedelta(minutes=1)),)

    async def scenario(store: NurtureStore, _: redis.Redis) -> list[datetime]:
        first = await store.book(MAILBOX, "a", T0, T0, caps)
        again = await store.book(MAILBOX, "a", T0, T0, caps)  # a redelivered step: the same slot
        second = await store.book(MAILBOX, "b", T0, T0, caps)
        moved = await store.book(MAILBOX, "a", T0, T0 + timedelta(hours=2), caps)  # its window was shut
        return [first, again, second, moved]

    first, again, second, moved = on_store(infra, scenario)
    assert first == again == T0 and second == T0 + timedelta(minutes=1)
    assert moved == T0 + timedelta(hours=2)


def test_whatever_is_admitted_and_booked_keeps_every_cap(infra: Infra) -> None:
    """Random admissions and bookings against two caps: the mailbox's set of sends and slots (those
    still inside the longest cap's period) respects both."""
    caps = (Cap(3, timedelta(minutes=1)), Cap(10, timedelta(hours=1)))
    chooser = random.Random(7)

    async def scenario(store: NurtureStore, client: redis.Redis) -> tuple[list[datetime], int]:
        now = T0
        for n in range(60):
            now += timedelta(seconds=chooser.choice((0, 1, 5, 20, 90)))
            if not await store.admit(MAILBOX, f"s{n}", now, caps):
                await store.book(MAILBOX, f"s{n}", now, now + timedelta(seconds=1), caps)
        members = await client.zrange(store._key("mailbox", MAILBOX), 0, -1, withscores=True)
        return [datetime.fromtimestamp(score, UTC) for _, score in members], len(members)

    entries, count = on_store(infra, scenario)
    # Entries older than the longest cap are trimmed as time moves on; what remains must hold both caps.
    assert count > 10
    for cap in caps:
        assert respects(entries, cap), cap
