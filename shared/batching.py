"""A drained batch of consumed records: the outputs its handlers produced, and steps that wait for them.

The runtime acknowledges a batch's records only after `Batch.settle()`: first every output the
broker acknowledged, then the after-output steps (scoring's table writes) in order. No Kafka here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

# Records already fetched are handled this many at a time at most; fewer when fewer are buffered,
# so a quiet stream never waits for a batch to fill.
MAX_BATCH = 100
# Batches handled but not yet acknowledged (their outputs in flight) before the loop waits for the oldest.
MAX_SETTLING = 8

AfterOutputs = Callable[[], Coroutine[Any, Any, None]]


class Batch:
    """The outputs and after-output steps of the records being handled together."""

    def __init__(self) -> None:
        self.outputs: list[Awaitable[Any]] = []
        self.after: list[AfterOutputs] = []

    async def settle(self) -> None:
        """Wait until the broker acknowledged every output, run the steps in order, then wait for
        what the steps produced (their table writes' changelog records).

        A failed produce raises here, before any record is acknowledged.
        """
        await self._acknowledged()
        token = _current.set(self)
        try:
            for step in self.after:
                await step()
        finally:
            _current.reset(token)
        await self._acknowledged()

    async def _acknowledged(self) -> None:
        outputs, self.outputs = self.outputs, []
        if outputs:
            await asyncio.gather(*outputs)


_current: ContextVar[Batch | None] = ContextVar("salesflow_batch", default=None)


@contextmanager
def open_batch() -> Iterator[Batch]:
    """A batch that sends and `after_outputs` in this task (each agent is its own task) join."""
    batch = Batch()
    token = _current.set(batch)
    try:
        yield batch
    finally:
        _current.reset(token)


def track_outputs(outputs: Iterable[Awaitable[Any]]) -> None:
    """Outputs the current batch must see acknowledged (none outside a batch: HTTP waits itself)."""
    batch = _current.get()
    if batch is not None:
        batch.outputs.extend(outputs)


def after_outputs(step: AfterOutputs) -> None:
    """Run `step` once the current batch's outputs are acknowledged, before its records are."""
    batch = _current.get()
    if batch is None:
        raise RuntimeError("after_outputs is only meaningful while a consumed batch is handled")
    batch.after.append(step)
