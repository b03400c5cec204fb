"""The routing store's Lua round robin, loads and account owners against the real Redis."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from redis.asyncio import BlockingConnectionPool, Redis

from services.routing.domain import LeadToRoute, RoutePlan, route_leads
from services.routing.policy import load_policy
from services.routing.roster import rep_from_dict
from services.routing.store import RedisRepLoadStore

pytestmark = pytest.mark.integration

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
NOW = datetime(2025, 3, 4, 9, 30, tzinfo=UTC)
POLICY = Path(__file__).resolve().parents[2] / "services" / "routing" / "routing_policy.yaml"


@pytest_asyncio.fixture
async def redis() -> AsyncIterator[Redis]:
    # A blocking pool makes surplus callers wait for a connection, as replicas would queue.
    client = Redis(connection_pool=BlockingConnectionPool.from_url(REDIS_URL, max_connections=32))
    yield client
    await client.aclose()


@pytest_asyncio.fixture
async def prefix(redis: Redis) -> AsyncIterator[str]:
    name = f"test-routing-{uuid.uuid4().hex}"
    yield name
    keys = [key async for key in redis.scan_iter(match=f"{{{name}}}:*", count=10_000)]
    if keys:
        await redis.delete(*keys)


@pytest.fixture
def store(redis: Redis, prefix: str) -> RedisRepLoadStore:
    return RedisRepLoadStore(redis, prefix=prefix)


def plan_of(capacity: dict[str, int], owner: str | None = None, rule: str = "rule") -> RoutePlan:
    pool = tuple(sorted(rep for rep in capacity if rep != owner))
    return RoutePlan(rule, pool, (), owner=owner, capacity=capacity)


async def pick_many(store: RedisRepLoadStore, plan: RoutePlan, count: int) -> list[str | None]:
    picks = await asyncio.gather(*(store.pick_rep(f"lead-{uuid.uuid4().hex}", plan) for _ in range(count)))
    return [pick.rep_id for pick in picks]


@pytest.mark.asyncio
async def test_sequential_picks_rotate_through_the_pool(store: RedisRepLoadStore) -> None:
    """One caller after another gets the pool in cursor order, wrapping around."""
    plan = plan_of({"a": 100, "b": 100, "c": 100})
    picks = [(await store.pick_rep(f"lead-{i}", plan)).rep_id for i in range(7)]
    assert picks == ["a", "b", "c", "a", "b", "c", "a"]


@pytest.mark.asyncio
async def test_picks_for_a_list_are_the_picks_one_after_another(
    redis: Redis, prefix: str, store: RedisRepLoadStore
) -> None:
    """One script call over a list gives what one call per lead gives: rotation, an owner first,
    a rep filling up, and a lead listed twice answered once."""
    pool, owned = plan_of({"a": 2, "b": 9, "c": 9}), plan_of({"o": 1, "a": 2, "b": 9, "c": 9}, owner="o")
    requests = [("l1", pool), ("l2", owned), ("l3", pool), ("l1", pool), ("l4", owned), ("l5", pool), ("l6", pool)]
    alone = RedisRepLoadStore(redis, prefix=f"{prefix}-alone")
    try:
        one_by_one = [await alone.pick_rep(lead_id, plan) for lead_id, plan in requests]
        together = await store.pick_reps(requests)
    finally:
        await redis.delete(*[key async for key in redis.scan_iter(match=f"{{{prefix}-alone}}:*")])
    assert together == one_by_one
    assert [p.rep_id for p in together] == ["a", "o", "b", "a", "c", "a", "b"]
    assert (together[3].replayed, together[4].skipped_at_capacity) == (True, ("o",))
    assert {rep: await store.open_load(rep) for rep in "oabc"} == {"o": 1, "a": 2, "b": 2, "c": 1}


@pytest.mark.asyncio
async def test_concurrent_picks_are_fair(store: RedisRepLoadStore) -> None:
    """Two hundred simultaneous callers over four equal reps leave counts at most one apart."""
    counts = Counter(await pick_many(store, plan_of({"a": 1000, "b": 1000, "c": 1000, "d": 1000}), 202))
    assert sum(counts.values()) == 202
    assert max(counts.values()) - min(counts.values()) <= 1
    assert {rep: await store.open_load(rep) for rep in "abcd"} == dict(counts)


@pytest.mark.asyncio
async def test_concurrent_picks_never_exceed_capacity(store: RedisRepLoadStore) -> None:
    """Fifty simultaneous callers over five reps of capacity 7 fill each to exactly 7; the rest get nobody."""
    picks = await pick_many(store, plan_of({rep: 7 for rep in "abcde"}), 50)
    assert Counter(picks) == {"a": 7, "b": 7, "c": 7, "d": 7, "e": 7, None: 15}
    assert [await store.open_load(rep) for rep in "abcde"] == [7] * 5


@pytest.mark.asyncio
async def test_full_reps_are_skipped_and_reported(store: RedisRepLoadStore) -> None:
    """A rep at capacity is passed by and named in skipped_at_capacity; the next with room wins."""
    plan = plan_of({"a": 1, "b": 5, "c": 5})
    assert (await store.pick_rep("l1", plan)).rep_id == "a"
    pick = await store.pick_rep("l2", plan)
    assert (pick.rep_id, pick.skipped_at_capacity) == ("b", ())
    await store.pick_rep("l3", plan)
    pick = await store.pick_rep("l4", plan)
    assert (pick.rep_id, pick.skipped_at_capacity) == ("b", ("a",))


@pytest.mark.asyncio
async def test_zero_capacity_pool_returns_nobody_with_everyone_skipped(store: RedisRepLoadStore) -> None:
    """When nobody has room the pick is None and every rep is reported full."""
    pick = await store.pick_rep("l1", plan_of({"a": 0, "b": 0}))
    assert (pick.rep_id, sorted(pick.skipped_at_capacity)) == (None, ["a", "b"])


@pytest.mark.asyncio
async def test_owner_goes_first_without_moving_the_cursor(store: RedisRepLoadStore) -> None:
    """An owner with room takes the lead and the pool's rotation resumes where it was."""
    pool = plan_of({"a": 9, "b": 9})
    owned = plan_of({"o": 1, "a": 9, "b": 9}, owner="o")
    assert (await store.pick_rep("l1", pool)).rep_id == "a"
    assert (await store.pick_rep("l2", owned)).rep_id == "o"
    assert (await store.pick_rep("l3", pool)).rep_id == "b"
    overflow = await store.pick_rep("l4", owned)
    assert (overflow.rep_id, overflow.skipped_at_capacity) == ("a", ("o",))


@pytest.mark.asyncio
async def test_redelivered_lead_gets_its_first_answer_counted_once(store: RedisRepLoadStore) -> None:
    """Picking for the same lead twice returns the same rep, marked replayed, and loads once."""
    plan = plan_of({"a": 5, "b": 5})
    first, again = await store.pick_rep("dup", plan), await store.pick_rep("dup", plan)
    assert (again.rep_id, again.replayed, first.replayed) == (first.rep_id, True, False)
    assert first.rep_id is not None and await store.open_load(first.rep_id) == 1
    assert (await store.pick_rep("next", plan)).rep_id != first.rep_id


@pytest.mark.asyncio
async def test_release_gives_back_load_but_never_below_zero(store: RedisRepLoadStore) -> None:
    """release decrements a rep's open load and stops at zero, freeing the slot for the next lead."""
    plan = plan_of({"a": 1})
    assert (await store.pick_rep("l1", plan)).rep_id == "a"
    assert (await store.pick_rep("l2", plan)).rep_id is None
    assert [await store.release("a"), await store.release("a")] == [0, 0]
    assert (await store.pick_rep("l3", plan)).rep_id == "a"


@pytest.mark.asyncio
async def test_first_claim_owns_the_account(store: RedisRepLoadStore) -> None:
    """claim_account keeps the first owner of a domain (any case); later claims change nothing."""
    assert await store.account_owner("acme.io") is None
    assert await store.claim_account("Acme.io", "a") == "a"
    assert await store.claim_account("acme.io", "b") == "a"
    assert await store.account_owner("ACME.IO") == "a"


@pytest.mark.asyncio
async def test_text_decoding_clients_work_too(prefix: str) -> None:
    """A client with decode_responses=True gets the same picks and owners."""
    client = Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        store = RedisRepLoadStore(client, prefix=prefix, replay_ttl=timedelta(minutes=5))
        pick = await store.pick_rep("l1", plan_of({"a": 0, "b": 1}))
        assert (pick.rep_id, pick.skipped_at_capacity) == ("b", ("a",))
        assert await store.claim_account("acme.io", "b") == "b"
    finally:
        await client.aclose()


@pytest.mark.asyncio
async def test_routing_never_drops_a_lead(store: RedisRepLoadStore) -> None:
    """Thirty leads in two concurrent batches over reps holding twenty slots: twenty assigned, ten queued, none lost."""
    policy = load_policy(POLICY)
    reps = {
        rep_id: rep_from_dict(
            {"rep_id": rep_id, "name": rep_id, "email": f"{rep_id}@example.com", "capacity": 10, "territories": ["NA"]}
        )
        for rep_id in ("na-1", "na-2")
    }
    leads = [LeadToRoute(f"lead-{i}", f"u{i}@gmail.com", country="US", employees=20, grade="C") for i in range(30)]
    # Two replicas' batches at once, interleaving at their round trips.
    halves = await asyncio.gather(*(route_leads(half, reps, policy, store, NOW) for half in (leads[::2], leads[1::2])))
    done = [*halves[0], *halves[1]]
    assert Counter(a.rep_id or a.queue for a in done) == {"na-1": 10, "na-2": 10, "routing.unassigned": 10}
    assert {a.lead_id for a in done} == {lead.lead_id for lead in leads}
    assert all(a.sla_due_at == NOW + timedelta(hours=4) for a in done)
