"""Profile changes decided but not yet stored: the table is written only once their outputs are acked.

Storing first lost outputs: killed between the table write and the send, the replayed record found
the new profile, decided nothing had changed and emitted nothing. Held here instead, a change is
read by the next record of the same lead at once, and stored per lead in the order decided.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Stored = dict[str, Any] | None  # None: the profile is to be deleted (erasure)


@dataclass(eq=False)
class PendingChange:
    """One decided value of a lead's profile; `previous` is the lead's earlier change not yet stored."""

    lead_id: str
    value: Stored
    previous: PendingChange | None
    stored: asyncio.Event = field(default_factory=asyncio.Event)


class PendingProfiles:
    """The latest not-yet-stored change per lead (bounded by the records in flight)."""

    def __init__(self) -> None:
        self._latest: dict[str, PendingChange] = {}

    def latest(self, lead_id: str) -> PendingChange | None:
        return self._latest.get(lead_id)

    def hold(self, lead_id: str, value: Stored) -> PendingChange:
        """Record a decided value; it is what the next record of this lead reads."""
        change = PendingChange(lead_id, value, self._latest.get(lead_id))
        self._latest[lead_id] = change
        return change

    async def store(self, change: PendingChange, write: Callable[[str, Stored], None]) -> None:
        """Write `change` once every earlier change of its lead is written (call after its outputs were acked).

        Earlier changes of the lead were decided first, so their batches settle without waiting
        on this one: the chain always ends.
        """
        if change.previous is not None:
            await change.previous.stored.wait()
            change.previous = None
        write(change.lead_id, change.value)
        change.stored.set()
        if self._latest.get(change.lead_id) is change:
            del self._latest[change.lead_id]
