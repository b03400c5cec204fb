"""by_key: each key's records in order, up to keys_at_once keys at a time."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from shared.runtime import by_key


def event(key: bytes | None) -> Any:
    return SimpleNamespace(message=SimpleNamespace(key=key))


def run(items: list[tuple[Any, str]], keys_at_once: int) -> tuple[list[str], int]:
    """The order the items were finished in, and the most handled at once."""
    finished: list[str] = []
    running = peak = 0

    async def handle(_: Any, name: str) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0)  # let every other lane take its turn
        await asyncio.sleep(0)
        finished.append(name)
        running -= 1

    asyncio.run(by_key(items, keys_at_once, handle))
    return finished, peak


def test_each_key_keeps_its_order_while_keys_interleave() -> None:
    items = [(event(b"a"), "a1"), (event(b"a"), "a2"), (event(b"b"), "b1"), (event(b"a"), "a3"), (event(b"b"), "b2")]
    finished, peak = run(items, keys_at_once=2)
    assert [name for name in finished if name.startswith("a")] == ["a1", "a2", "a3"]
    assert [name for name in finished if name.startswith("b")] == ["b1", "b2"]
    assert peak == 2
    assert finished.index("b1") < finished.index("a2")  # b did not wait for all of a


def test_no_more_keys_than_allowed_run_at_once() -> None:
    items = [(event(str(n).encode()), str(n)) for n in range(10)]
    _, peak = run(items, keys_at_once=3)
    assert peak == 3


def test_records_without_a_key_share_one_lane() -> None:
    items = [(event(None), "x1"), (event(None), "x2"), (event(b"k"), "k1")]
    finished, peak = run(items, keys_at_once=4)
    assert finished.index("x1") < finished.index("x2")
    assert peak == 2
