"""Event-id dedupe for folds that are not idempotent by themselves (per-event counters).

A bounded memory of recent event ids; pure values, no Redis and no clock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

DEFAULT_CAPACITY = 10_000


class HasEventId(Protocol):
    """Any fact that carries its idempotency key."""

    @property
    def event_id(self) -> str: ...


S = TypeVar("S")
F = TypeVar("F", bound=HasEventId)


@dataclass(frozen=True)
class SeenIds:
    """The last `capacity` event ids applied, oldest first.

    Bounded on purpose: Kafka re-delivers from the last committed offset, so a memory that
    covers more events than one commit interval per key catches every re-delivery; an id
    evicted longer ago than that would count again.
    """

    capacity: int = DEFAULT_CAPACITY
    ids: tuple[str, ...] = ()
    _index: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {self.capacity}")
        object.__setattr__(self, "_index", frozenset(self.ids))

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._index


def remember(seen: SeenIds, event_id: str) -> SeenIds:
    """Record event_id, evicting the oldest ids past capacity."""
    if event_id in seen:
        return seen
    return SeenIds(seen.capacity, (*seen.ids, event_id)[-seen.capacity :])


def fold_once(fold: Callable[[S, F], S], state: S, seen: SeenIds, fact: F) -> tuple[S, SeenIds]:
    """Apply fold unless fact's event_id was already applied; a repeat changes nothing."""
    if fact.event_id in seen:
        return state, seen
    return fold(state, fact), remember(seen, fact.event_id)


def seen_to_dict(seen: SeenIds) -> dict[str, Any]:
    """Plain form for a table or read model."""
    return {"capacity": seen.capacity, "ids": list(seen.ids)}


def seen_from_dict(data: Mapping[str, Any]) -> SeenIds:
    """Inverse of seen_to_dict."""
    return SeenIds(int(data["capacity"]), tuple(data["ids"]))
