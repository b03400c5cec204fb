"""Scale: scoring with one worker, then a second joining the group mid-backlog.

One run gives three figures: events/s with one worker, the rebalance (from starting the second
worker until both are ready, and the longest output stall inside it), and events/s with two.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.stack import Infra, ServiceProcess
from bench.stages import Stage, prepare
from bench.stats import longest_stall, rate_between
from bench.topic_io import TopicCounter


@dataclass(frozen=True)
class ScaleRun:
    one_worker_per_second: float
    two_workers_per_second: float
    rebalance_seconds: float
    stall_seconds: float
    complete: bool


@dataclass
class Progress:
    """The output count over wall time, sampled after every poll."""

    counter: TopicCounter
    series: list[tuple[float, int]] = field(default_factory=list)

    def poll_until(self, done: Callable[[], bool], seconds: float, watch: list[ServiceProcess]) -> bool:
        def tick() -> None:
            self.series.append((time.monotonic(), self.counter.total))
            for worker in watch:
                worker.check_alive()

        return self.counter.wait_until(done, seconds, tick)


def run_scale(infra: Infra, stage: Stage, count: int, seed: int, one_worker_seconds: float) -> ScaleRun:
    namespace, expected = prepare(infra, stage, count, seed, "scale")
    progress = Progress(TopicCounter(infra, [namespace.topic(t) for t in stage.outputs]))
    try:
        first = namespace.start(stage.name, wait=False)
        progress.poll_until(lambda: progress.counter.total > 0, 90, [first])
        started = time.monotonic()
        progress.poll_until(lambda: time.monotonic() - started >= one_worker_seconds, one_worker_seconds + 5, [first])
        joined = time.monotonic()
        second = namespace.start(stage.name, wait=False)
        progress.poll_until(_both_ready(first, second), 90, [first, second])
        ready = time.monotonic()
        # A run that has not drained after 45 s shows as complete=False, not a hang.
        complete = progress.poll_until(lambda: progress.counter.total >= expected, 45, [first, second])
        finished = progress.series[-1][0]
        return ScaleRun(
            rate_between(progress.series, started, joined),
            rate_between(progress.series, ready, finished),
            ready - joined,
            longest_stall(progress.series, joined, ready),
            complete,
        )
    finally:
        progress.counter.close()
        namespace.close()


def _both_ready(first: ServiceProcess, second: ServiceProcess) -> Callable[[], bool]:
    checked = [0.0]

    def done() -> bool:
        # /readyz is an HTTP call: ask at most four times a second.
        if time.monotonic() - checked[0] < 0.25:
            return False
        checked[0] = time.monotonic()
        return second.ready() and first.ready()

    return done
