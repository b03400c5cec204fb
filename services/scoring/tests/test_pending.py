"""Held profile changes: read at once, stored per lead in the order decided, forgotten once stored."""

from __future__ import annotations

import asyncio
from typing import Any

from services.scoring.pending import PendingProfiles, Stored


def recorder() -> tuple[list[tuple[str, Stored]], Any]:
    writes: list[tuple[str, Stored]] = []
    return writes, lambda lead_id, value: writes.append((lead_id, value))


def test_the_latest_held_change_is_what_the_next_record_reads() -> None:
    """A held change is visible before it is stored; the newest one wins."""
    pending = PendingProfiles()
    pending.hold("lead-1", {"v": 1})
    pending.hold("lead-1", {"v": 2})
    latest = pending.latest("lead-1")
    assert latest is not None and latest.value == {"v": 2}
    assert pending.latest("lead-2") is None


async def test_a_later_change_is_stored_only_after_the_earlier_one() -> None:
    """Settled out of order, the lead's changes still reach the table in the order they were decided."""
    pending = PendingProfiles()
    writes, write = recorder()
    first = pending.hold("lead-1", {"v": 1})
    second = pending.hold("lead-1", {"v": 2})
    later = asyncio.create_task(pending.store(second, write))
    await asyncio.sleep(0)
    assert writes == [] and not later.done()
    await pending.store(first, write)
    await later
    assert writes == [("lead-1", {"v": 1}), ("lead-1", {"v": 2})]
    assert pending.latest("lead-1") is None


async def test_an_erasure_is_held_like_any_change() -> None:
    """A deletion (None) is stored after the earlier change, never overtaken by it."""
    pending = PendingProfiles()
    writes, write = recorder()
    change = pending.hold("lead-1", {"v": 1})
    erasure = pending.hold("lead-1", None)
    assert pending.latest("lead-1") is erasure
    await pending.store(change, write)
    await pending.store(erasure, write)
    assert writes == [("lead-1", {"v": 1}), ("lead-1", None)]
