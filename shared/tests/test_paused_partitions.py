"""Partitions Faust paused for a full stream queue all resume once it drained to its low mark."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from mode.utils.queues import FlowControlEvent, FlowControlQueue

from shared.runtime import _resume_drained_partitions

PARTITIONS = 6


def filled_queue(resumed: list[int]) -> FlowControlQueue[int]:
    """A queue of 100 that every partition pushed past its high mark, as Faust's conductor does."""
    flow = FlowControlEvent()
    flow.resume()
    queue: FlowControlQueue[int] = FlowControlQueue(maxsize=100, flow_control=flow)
    # One callback per partition, compiled once, as Faust's conductor does.
    resume = [lambda p=partition: resumed.append(p) for partition in range(PARTITIONS)]
    for item in range(200):
        queue.put_nowait_enhanced(item, on_pressure_high=lambda: None, on_pressure_drop=resume[item % PARTITIONS])
    return queue


def stream_over(queue: FlowControlQueue[int]) -> Any:
    return SimpleNamespace(channel=SimpleNamespace(queue=queue))


def test_every_paused_partition_resumes_at_the_low_mark() -> None:
    resumed: list[int] = []
    queue = filled_queue(resumed)
    while queue.qsize() > queue.pressure_drop_size:
        queue.get_nowait()
        resumed.clear()  # what Faust's own reads resumed one at a time does not matter here
    _resume_drained_partitions(stream_over(queue))
    assert queue.qsize() > 0
    assert not queue._pending_pressure_drop_callbacks


def test_nothing_resumes_above_the_low_mark() -> None:
    resumed: list[int] = []
    queue = filled_queue(resumed)
    _resume_drained_partitions(stream_over(queue))
    assert resumed == []
    assert len(queue._pending_pressure_drop_callbacks) == PARTITIONS


def test_faust_alone_resumes_one_partition_per_read_at_the_low_mark() -> None:
    """Why the runtime steps in: Faust's own reads resume one paused partition each, and the queue
    is refilled before the rest come up (the starvation the scale bench measured)."""
    resumed: list[int] = []
    queue = filled_queue(resumed)
    while queue.qsize() > queue.pressure_drop_size:
        queue.get_nowait()
    assert len(resumed) <= 1
    assert len(queue._pending_pressure_drop_callbacks) >= PARTITIONS - 1
    _resume_drained_partitions(stream_over(queue))
    assert sorted(set(resumed)) == list(range(PARTITIONS))
