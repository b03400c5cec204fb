"""Additive tallies: the one aggregate shape every analytics fold adds into.

Pure values with no I/O. Keys are tuples of strings; values are int counts or Decimal amounts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

Key = tuple[str, ...]
Number = int | Decimal


@dataclass(frozen=True)
class Tally:
    """Sparse sums by key; zero entries are dropped so equal sums compare equal."""

    entries: Mapping[Key, Number] = field(default_factory=dict)

    def get(self, key: Key) -> Number:
        """The sum at key, 0 when nothing was added there."""
        return self.entries.get(key, 0)

    def count(self, key: Key) -> int:
        """The sum at key as an int count."""
        return int(self.get(key))

    def amount(self, key: Key) -> Decimal:
        """The sum at key as a Decimal amount."""
        return Decimal(self.get(key))


EMPTY = Tally()


def tally_of(pairs: Iterable[tuple[Key, Number]]) -> Tally:
    """Sum (key, value) pairs; repeated keys add up."""
    sums: dict[Key, Number] = {}
    for key, value in pairs:
        sums[key] = sums.get(key, 0) + value
    return Tally({key: value for key, value in sums.items() if value != 0})


def combine(*tallies: Tally) -> Tally:
    """Add tallies key by key; exact, so the order of addition never matters."""
    return tally_of(pair for tally in tallies for pair in tally.entries.items())


def negate(tally: Tally) -> Tally:
    """The tally that cancels this one."""
    return Tally({key: -value for key, value in tally.entries.items()})


def shift(total: Tally, before: Tally, after: Tally) -> Tally:
    """Replace one entity's old contribution to a total with its new one."""
    return combine(total, negate(before), after)


def select(tally: Tally, prefix: Key) -> dict[Key, Number]:
    """Entries whose key starts with prefix, keyed by the rest of the key."""
    size = len(prefix)
    return {k[size:]: v for k, v in tally.entries.items() if k[:size] == prefix}


def tally_to_dict(tally: Tally) -> dict[str, Any]:
    """Plain, JSON-ready form: Decimal amounts become strings so the round trip is exact."""
    rows = sorted(tally.entries.items())
    return {"entries": [[list(k), v if isinstance(v, int) else str(v)] for k, v in rows]}


def tally_from_dict(data: Mapping[str, Any]) -> Tally:
    """Inverse of tally_to_dict."""
    return Tally({tuple(k): v if isinstance(v, int) else Decimal(v) for k, v in data["entries"]})
