"""A consumed batch settles its outputs before its after-output steps, and not at all when one fails."""

from __future__ import annotations

import asyncio

import pytest

from shared.batching import after_outputs, open_batch, track_outputs


async def test_steps_run_after_every_output_was_acknowledged() -> None:
    """A step never sees an output of its batch still in flight."""
    loop = asyncio.get_running_loop()
    output: asyncio.Future[None] = loop.create_future()
    seen: list[bool] = []

    async def step() -> None:
        seen.append(output.done())

    with open_batch() as batch:
        track_outputs([output])
        after_outputs(step)
    settling = asyncio.ensure_future(batch.settle())
    await asyncio.sleep(0)
    assert seen == []
    output.set_result(None)
    await settling
    assert seen == [True]


async def test_a_failed_output_fails_the_batch_before_any_step() -> None:
    """The broker refusing an output raises from settle; no state is written."""
    loop = asyncio.get_running_loop()
    output: asyncio.Future[None] = loop.create_future()
    output.set_exception(RuntimeError("broker refused"))
    ran: list[str] = []

    async def step() -> None:
        ran.append("step")

    with open_batch() as batch:
        track_outputs([output])
        after_outputs(step)
    with pytest.raises(RuntimeError, match="broker refused"):
        await batch.settle()
    assert ran == []


def test_after_outputs_outside_a_batch_is_refused() -> None:
    """Without a batch nobody would wait for the outputs, so the step could outrun them."""

    async def step() -> None:
        return None

    with pytest.raises(RuntimeError):
        after_outputs(step)
