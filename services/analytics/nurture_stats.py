"""Nurture performance: sends, opens, clicks, replies, unsubscribes and bounces per sequence,
step and variant. Pure; counts every event, so guard it with dedupe.fold_once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from services.analytics.facts import NURTURE_KINDS, NurtureFact, NurtureKind
from services.analytics.inputs import EnrolmentChange
from services.analytics.tally import Tally, combine, select, tally_of

ENROLMENT = "enrolment"
# Changes a sequence's enrolment counts show (nurture's EnrolmentChanged.change values).
CHANGES = ("enrolled", "step_sent", "step_skipped", "paused", "resumed", "exited", "completed")


def count_nurture(stats: Tally, fact: NurtureFact) -> Tally:
    """Add one outcome; not idempotent by itself (a re-delivered open counts again)."""
    key = ("nurture", fact.sequence_id, str(fact.step), fact.variant, fact.kind)
    return combine(stats, tally_of([(key, 1)]))


def count_enrolment(change: EnrolmentChange) -> Tally:
    """One enrolment change, under its reason (empty when none); dedupe by event id first."""
    return tally_of([((ENROLMENT, change.sequence_id, change.change, change.reason or ""), 1)])


@dataclass(frozen=True)
class EnrolmentStats:
    """A sequence's enrolment changes by kind, exits by reason, and enrolments still running."""

    changes: Mapping[str, int]
    exits: Mapping[str, int]
    paused_by_reason: Mapping[str, int]

    @property
    def in_progress(self) -> int:
        """Enrolled and neither exited nor completed (never below 0 while counts catch up)."""
        return max(0, self.changes["enrolled"] - self.changes["exited"] - self.changes["completed"])


def enrolment_stats(stats: Tally, sequence_id: str) -> EnrolmentStats:
    """Read one sequence's enrolment counts out of a tally; unknown changes count too."""
    changes = dict.fromkeys(CHANGES, 0)
    exits: dict[str, int] = {}
    paused: dict[str, int] = {}
    for (change, reason), n in select(stats, (ENROLMENT, sequence_id)).items():
        changes[change] = changes.get(change, 0) + int(n)
        if change in ("exited", "paused"):
            into = exits if change == "exited" else paused
            into[reason or "(none)"] = into.get(reason or "(none)", 0) + int(n)
    return EnrolmentStats(changes, exits, paused)


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
