"""What nurture reads from Redis once per fetched batch of lead events, instead of once per record."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from services.nurture.leads import RepContact


@dataclass(frozen=True)
class BatchLookups:
    """Which of a batch's leads were not erased and who its reps are, read in one round trip before
    its records are handled; `erasures` is the worker's count of erasure flags written, taken before
    the read."""

    erasures: int
    unerased: frozenset[str]
    reps: Mapping[str, RepContact | None]

    def not_erased(self, lead_id: str, erasures: int) -> bool:
        """True when the read found the lead not erased and the worker has flagged no erasure since:
        a flag written after the count may have come after the read too, so any makes it stale."""
        return erasures == self.erasures and lead_id in self.unerased
