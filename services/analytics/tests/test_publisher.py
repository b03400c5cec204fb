"""Tests of the publisher: the read model ends equal to the worker's totals even when folds land
while a newly assigned partition is being written whole."""

from __future__ import annotations

import asyncio
from contextlib import suppress
from types import SimpleNamespace
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from services.analytics.entities import LeadState, fold_lead_input, lead_state_to_dict
from services.analytics.inputs import LeadInput
from services.analytics.partitions import TotalsCache, merge_changes
from services.analytics.publisher import Publisher
from services.analytics.speed import DEFAULT_SLA
from services.analytics.totals import new_totals
from shared.errors import TransientFailure

from .builders import lead

PART = st.sampled_from("abcdef")
CHANGE = st.dictionaries(PART, st.integers(), max_size=4).flatmap(
    lambda writes: st.tuples(st.just(writes), st.sets(PART.filter(lambda p: p not in writes), max_size=3))
)


class Table(dict[str, dict[str, Any]]):
    """The leads or deals table: plain values by key."""


class SlowReadModel:
    """Redis as the publisher sees it; each write yields, so a fold can land in between."""

    def __init__(self, during_replace: Any = None) -> None:
        self.hashes: dict[int, dict[str, Any]] = {}
        self.during_replace = during_replace
        self.during_update: Any = None  # runs inside the next update, before it fails or lands
        self.failing_updates = 0  # updates still to fail, as a Redis timeout does
        self.warnings: list[str] = []

    async def replace(self, partition: int, docs: dict[str, Any]) -> None:
        await asyncio.sleep(0)
        if self.during_replace is not None:
            self.during_replace, fold = None, self.during_replace
            fold()
        self.hashes[partition] = dict(docs)

    async def update(self, partition: int, writes: dict[str, Any], deletes: set[str]) -> None:
        await asyncio.sleep(0)
        if self.during_update is not None:
            self.during_update, run = None, self.during_update
            run()
        if self.failing_updates:
            self.failing_updates -= 1
            raise TransientFailure("redis unavailable: Timeout reading from 127.0.0.1:6379")
        current = self.hashes.setdefault(partition, {})
        current.update(writes)
        for name in deletes:
            current.pop(name, None)


def worker(leads: Table, read_model: SlowReadModel) -> tuple[Publisher, TotalsCache]:
    cache = TotalsCache(leads, Table(), new_totals, DEFAULT_SLA, lambda: True)  # type: ignore[arg-type]
    tps = [SimpleNamespace(topic="leads.captured", partition=p) for p in (0, 3)]
    completed = SimpleNamespace(is_set=lambda: True)
    app = SimpleNamespace(
        consumer=SimpleNamespace(assignment=lambda: tps),
        rebalancing=False,
        tables=SimpleNamespace(recovery=SimpleNamespace(completed=completed)),
    )
    log = SimpleNamespace(warning=lambda event, **fields: read_model.warnings.append(event))
    runtime = SimpleNamespace(app=app, settings=SimpleNamespace(topic_prefix=""), log=log)
    analytics = SimpleNamespace(runtime=runtime, totals=cache, read_model=read_model)
    return Publisher(analytics), cache  # type: ignore[arg-type]


def fold(leads: Table, cache: TotalsCache, partition: int, lead_id: str, **attrs: str) -> None:
    """What the wiring does for one record: one table value, then the cached totals."""
    fact = lead("captured", 0, lead_id, **attrs)
    item = LeadInput(lead_id, fact.event_id, fact.occurred_at, (fact,))
    before = cache.load(partition)
    state, after = fold_lead_input(LeadState(partition), before, item, DEFAULT_SLA)
    leads[lead_id] = lead_state_to_dict(state)
    cache.save(partition, before, after)


def test_a_fold_during_the_whole_partition_write_is_published_next() -> None:
    """Two partitions newly assigned: a fold into the second while the first is written whole
    reaches Redis (it is not dropped with a snapshot taken before it)."""
    leads, model = Table(), SlowReadModel()
    publisher, cache = worker(leads, model)
    fold(leads, cache, 0, "L1", source="web")
    fold(leads, cache, 3, "L3", source="web")
    model.during_replace = lambda: fold(leads, cache, 3, "L2", source="ads")

    async def two_passes() -> None:
        await publisher.publish()
        await publisher.publish()

    asyncio.run(two_passes())
    assert {p: model.hashes[p] for p in (0, 3)} == {p: cache.partition_docs(p) for p in (0, 3)}
    assert cache.load(3).running.count(("funnel", "source", "ads", "captured")) == 1


def published_then_folded(leads: Table, model: SlowReadModel) -> tuple[Publisher, TotalsCache]:
    """A worker whose two partitions are already in Redis whole, with a change pending in each."""
    publisher, cache = worker(leads, model)
    fold(leads, cache, 0, "L1", source="web")
    fold(leads, cache, 3, "L3", source="web")
    asyncio.run(publisher.publish())
    fold(leads, cache, 0, "L4", source="ads")
    fold(leads, cache, 3, "L5", source="partner")
    return publisher, cache


def test_a_change_whose_write_timed_out_is_published_at_the_next_pass() -> None:
    """Redis times out on a change: the pass is skipped with a warning, not a crash, and the next
    pass writes the change (and the other partition's, which the failed pass never reached)."""
    leads, model = Table(), SlowReadModel()
    publisher, cache = published_then_folded(leads, model)
    model.failing_updates = 1
    asyncio.run(publisher.publish())
    assert model.warnings == ["read_model_publish_skipped"]
    assert model.hashes[0] != cache.partition_docs(0)
    asyncio.run(publisher.publish())
    assert {p: model.hashes[p] for p in (0, 3)} == {p: cache.partition_docs(p) for p in (0, 3)}


def test_a_rebalance_during_a_write_ends_the_pass_and_restores_nothing() -> None:
    """The totals were reset (partitions may have moved) while a change was being written: the
    pass stops there, and the failed change is not put back for a partition that may be gone."""
    leads, model = Table(), SlowReadModel()
    publisher, cache = published_then_folded(leads, model)
    model.failing_updates = 1
    model.during_update = lambda: reset_now(publisher)
    asyncio.run(publisher.publish())
    assert cache.pending == {}
    assert publisher.published == set()


@given(
    st.tuples(CHANGE, CHANGE, st.dictionaries(PART, st.integers(), max_size=4)),
)
def test_merged_changes_have_the_effect_of_both_in_order(changes: tuple[Any, Any, dict[str, Any]]) -> None:
    """Applying the merge to any hash ends where applying the older, then the newer, does."""
    older, newer, start = changes
    assert apply(apply(start, older), newer) == apply(start, merge_changes(older, newer))


def reset_now(publisher: Publisher) -> None:
    """What the rebalance signal does, run to completion right here (the handler never awaits)."""
    with suppress(StopIteration):
        publisher.reset().send(None)


def apply(hash_: dict[str, Any], change: tuple[dict[str, Any], set[str]]) -> dict[str, Any]:
    writes, deletes = change
    return {k: v for k, v in (hash_ | writes).items() if k not in deletes}
