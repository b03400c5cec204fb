"""Consumer lag per partition from the fetched end and the committed offset."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import cast

import faust
from aiokafka.errors import IllegalStateError
from faust.types import TP
from prometheus_client import CollectorRegistry

from shared.lag import LagGauge, partition_lags
from shared.metrics import ServiceMetrics

A, B, C = TP("leads.captured", 0), TP("leads.captured", 1), TP("engagement.captured", 0)


def test_lag_is_the_end_less_the_committed_offset() -> None:
    assert partition_lags({A: 120, B: 7}, {A: 100, B: 7}) == {A: 20, B: 0}


def test_a_partition_without_a_fetch_or_a_commit_is_left_out() -> None:
    """Unknown is not zero: reporting 0 would hide a worker stuck before its first commit."""
    assert partition_lags({A: None, B: 50, C: 9}, {A: 3, B: None}) == {}


def test_a_commit_ahead_of_a_stale_end_is_no_lag() -> None:
    """The end is from the last fetch; a commit made since can pass it until the next one."""
    assert partition_lags({A: 10}, {A: 12}) == {A: 0}


class FakeConsumer:
    """What LagGauge reads of Faust's consumer; `failing` stands for a rebalance under the read."""

    def __init__(self, ends: dict[TP, int | None], committed: dict[TP, int | None]) -> None:
        self.ends, self._committed_offset, self.failing = ends, committed, False
        self.asked: list[TP] = []

    def assignment(self) -> set[TP]:
        return set(self.ends)

    def highwater(self, tp: TP) -> int | None:
        if self.failing:
            raise IllegalStateError(f"No current assignment for partition {tp}")
        return self.ends[tp]

    async def earliest_offsets(self, *partitions: TP) -> dict[TP, int]:
        self.asked.extend(partitions)
        return dict.fromkeys(partitions, 0)


def series(registry: CollectorRegistry) -> dict[tuple[str, str], float]:
    return {
        (s.labels["topic"], s.labels["partition"]): s.value
        for family in registry.collect()
        for s in family.samples
        if s.name == "salesflow_x_consumer_lag_records"
    }


def test_the_gauge_follows_the_assignment_and_survives_a_failed_read() -> None:
    registry = CollectorRegistry()
    gauge = ServiceMetrics.create("x", registry).consumer_lag
    consumer = FakeConsumer({A: 120, B: 30, TP("x-changelog", 0): 99}, {A: 100, B: None})
    lag = LagGauge(cast(faust.App, SimpleNamespace(consumer=consumer)), gauge, {"leads.captured": "leads.captured"})

    asyncio.run(lag.refresh())
    assert series(registry) == {("leads.captured", "0"): 20, ("leads.captured", "1"): 30}  # B from its log start

    consumer.failing = True
    asyncio.run(lag.refresh())
    assert series(registry) == {("leads.captured", "0"): 20, ("leads.captured", "1"): 30}

    consumer.failing, consumer.ends = False, {B: 31}
    asyncio.run(lag.refresh())
    assert series(registry) == {("leads.captured", "1"): 31}


def test_an_empty_partition_never_committed_is_no_lag_and_costs_no_request() -> None:
    registry = CollectorRegistry()
    consumer = FakeConsumer({A: 0, B: 5}, {A: None, B: None})
    app = cast(faust.App, SimpleNamespace(consumer=consumer))
    lag = LagGauge(app, ServiceMetrics.create("x", registry).consumer_lag, {"leads.captured": "leads.captured"})
    asyncio.run(lag.refresh())
    assert series(registry) == {("leads.captured", "0"): 0, ("leads.captured", "1"): 5}
    assert consumer.asked == [B]
