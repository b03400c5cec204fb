"""A worker hands its C heap's free pages back on the timer its settings give, and not when told 0."""

from __future__ import annotations

import time

from tests.integration.harness import Stack, metrics

TRIMS = ("salesflow_scoring_heap_trims_total", ())
RELEASED = ("salesflow_scoring_heap_trim_released_bytes_total", ())


def test_a_worker_trims_its_heap_on_its_timer(stack: Stack) -> None:
    stack.extra_env["SALESFLOW_HEAP_TRIM_SECONDS"] = "0.5"
    stack.start("scoring")
    deadline = time.monotonic() + 30
    while metrics(stack.services["scoring"]).get(TRIMS, 0) < 3 and time.monotonic() < deadline:
        time.sleep(0.5)
    sampled = metrics(stack.services["scoring"])
    assert sampled.get(TRIMS, 0) >= 3, stack.services["scoring"].log_tail()
    assert RELEASED in sampled


def test_a_worker_told_0_never_trims(stack: Stack) -> None:
    stack.extra_env["SALESFLOW_HEAP_TRIM_SECONDS"] = "0"
    stack.start("scoring")
    time.sleep(2)
    assert TRIMS not in metrics(stack.services["scoring"])
    assert '"heap_trim_seconds": 0' in stack.services["scoring"].log_path.read_text()
