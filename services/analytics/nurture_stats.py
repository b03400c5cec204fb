"""Nurture performance: sends, opens, clicks, replies, unsubscribes and bounces per sequence,
step and variant. Pure; counts every event, so guard it with dedupe.fold_once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from services.analytics.facts import NURTURE_KINDS, NurtureFact, NurtureKind
from services.analytics.tally import Tally, combine, select, tally_of


def count_nurture(stats: Tally, fact: NurtureFact) -> Tally:
    """Add one outcome; not idempotent by itself (a re-delivered open counts again)."""
    key = ("nurture", fact.sequence_id, str(fact.step), fact.variant, fact.kind)
    return combine(stats, tally_of([(key, 1)]))


@dataclass(frozen=True)
class VariantStats:
    """Counts for one step and variant of a sequence, every kind present (0 when none)."""

    step: int
    variant: str
    counts: Mapping[NurtureKind, int]

    def rate(self, kind: NurtureKind) -> float | None:
        """Share of sends with this outcome; None before any send."""
        sent = self.counts["sent"]
        return self.counts[kind] / sent if sent else None


@dataclass(frozen=True)
class SequenceStats:
    """A sequence's rows by (step, variant), and its totals."""

    sequence_id: str
    rows: tuple[VariantStats, ...]
    totals: Mapping[NurtureKind, int]


def sequence_stats(stats: Tally, sequence_id: str) -> SequenceStats:
    """Read one sequence's numbers out of a tally, rows ordered by step then variant."""
    cells: dict[tuple[int, str], dict[NurtureKind, int]] = {}
    for (step, variant, kind), n in select(stats, ("nurture", sequence_id)).items():
        row = cells.setdefault((int(step), variant), dict.fromkeys(NURTURE_KINDS, 0))
        row[_kind(kind)] = int(n)
    rows = tuple(VariantStats(step, variant, cells[step, variant]) for step, variant in sorted(cells))
    totals = {kind: sum(row.counts[kind] for row in rows) for kind in NURTURE_KINDS}
    return SequenceStats(sequence_id, rows, totals)


def _kind(value: str) -> NurtureKind:
    return next(kind for kind in NURTURE_KINDS if kind == value)
