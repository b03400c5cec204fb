"""Tests of the publisher: the read model ends equal to the worker's totals even when folds land
while a newly assigned partition is being written whole."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from services.analytics.entities import LeadState, fold_lead_input, lead_state_to_dict
from services.analytics.inputs import LeadInput
from services.analytics.partitions import TotalsCache
from services.analytics.publisher import Publisher
from services.analytics.speed import DEFAULT_SLA
from services.analytics.totals import new_totals

from .builders import lead


class Table(dict[str, dict[str, Any]]):
    """The leads or deals table: plain values by key."""


class SlowReadModel:
    """Redis as the publisher sees it; each write yields, so a fold can land in between."""

    def __init__(self, during_replace: Any = None) -> None:
        self.hashes: dict[int, dict[str, Any]] = {}
        self.during_replace = during_replace

    async def replace(self, partition: int, docs: dict[str, Any]) -> None:
        await asyncio.sleep(0)
        if self.during_replace is not None:
            self.during_replace, fold = None, self.during_replace
            fold()
        self.hashes[partition] = dict(docs)

    async def update(self, partition: int, writes: dict[str, Any], deletes: set[str]) -> None:
        await asyncio.sleep(0)
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
    runtime = SimpleNamespace(app=app, settings=SimpleNamespace(topic_prefix=""))
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
