"""The reconciliation checker, after Jepsen's Kafka checker: per key, lost, duplicated, unseen, out of order.

Pure: it compares what a scenario sent with what it read back downstream; reading is the caller's job.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Sent:
    """One input the scenario submitted; `key` is what order is promised on (the lead)."""

    event_id: str
    key: str


@dataclass(frozen=True)
class Observed:
    """One downstream record accounting for input `event_id`, in the order it was read on its stream.

    `outcome` names the stream (assigned, not_qualified, dead_lettered); `effect` what was done
    (the rep picked, the DLQ reason). The same effect seen twice is a redelivery (at-least-once);
    two different effects for one input are a duplicate: "once" was broken.
    """

    event_id: str
    key: str
    outcome: str
    effect: str = ""


@dataclass(frozen=True)
class Reconciliation:
    """One scenario's totals; `missing` names the inputs counted as lost or unseen."""

    scenario: str
    events_in: int
    accounted: int
    lost: int
    unseen: int
    duplicates: int
    redelivered: int
    out_of_order: int
    outcomes: tuple[tuple[str, int], ...]
    missing: tuple[str, ...]

    @property
    def clean(self) -> bool:
        """Every input accounted for once, in order."""
        return not (self.lost or self.unseen or self.duplicates or self.out_of_order)


def reconcile(scenario: str, sent: Sequence[Sent], observed: Iterable[Observed]) -> Reconciliation:
    """Account every sent input against what was observed downstream.

    A missing input is *lost* when a later input on its key was accounted for (a gap no delay
    explains) and *unseen* otherwise (it may still be in flight), as in Jepsen's checker.
    """
    seen = list(observed)
    effects = _effects_by_input(seen)
    accounted = {s.event_id for s in sent} & effects.keys()
    lost, unseen = _missing(sent, accounted)
    return Reconciliation(
        scenario=scenario,
        events_in=len(sent),
        accounted=len(accounted),
        lost=len(lost),
        unseen=len(unseen),
        duplicates=sum(1 for event_id in accounted if len(effects[event_id]) > 1),
        redelivered=len(seen) - sum(len(e) for e in effects.values()),
        out_of_order=count_out_of_order(sent, seen),
        outcomes=tuple(sorted(Counter(_first_outcome(effects[e]) for e in accounted).items())),
        missing=tuple(lost + unseen),
    )


def _effects_by_input(seen: Iterable[Observed]) -> dict[str, set[tuple[str, str]]]:
    effects: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for record in seen:
        effects[record.event_id].add((record.outcome, record.effect))
    return effects


def _first_outcome(effects: set[tuple[str, str]]) -> str:
    return min(outcome for outcome, _ in effects)


def _missing(sent: Sequence[Sent], accounted: set[str]) -> tuple[list[str], list[str]]:
    """(lost, unseen) event ids: lost when something sent later on the same key was accounted."""
    lost: list[str] = []
    unseen: list[str] = []
    for inputs in _by_key(sent).values():
        last_accounted = max((i for i, s in enumerate(inputs) if s.event_id in accounted), default=-1)
        for index, item in enumerate(inputs):
            if item.event_id not in accounted:
                (lost if index < last_accounted else unseen).append(item.event_id)
    return lost, unseen


def count_out_of_order(sent: Sequence[Sent], seen: Iterable[Observed]) -> int:
    """Records read, on one key's stream, before an input that was sent earlier on that key."""
    position = {s.event_id: i for inputs in _by_key(sent).values() for i, s in enumerate(inputs)}
    highest: dict[tuple[str, str], int] = {}
    inversions = 0
    for record in seen:
        index = position.get(record.event_id)
        if index is None:
            continue
        stream = (record.key, record.outcome)
        if index < highest.get(stream, -1):
            inversions += 1
        highest[stream] = max(index, highest.get(stream, -1))
    return inversions


def _by_key(sent: Sequence[Sent]) -> dict[str, list[Sent]]:
    keyed: dict[str, list[Sent]] = defaultdict(list)
    for item in sent:
        keyed[item.key].append(item)
    return keyed


HEADERS = ("scenario", "events in", "accounted", "lost", "unseen", "duplicates", "redelivered", "out of order")


def format_table(rows: Sequence[Reconciliation]) -> str:
    """The reconciliation table, one line per scenario, in columns."""
    cells = [HEADERS] + [
        (
            r.scenario,
            *(
                str(n)
                for n in (r.events_in, r.accounted, r.lost, r.unseen, r.duplicates, r.redelivered, r.out_of_order)
            ),
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(HEADERS))]
    lines = [
        "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
        for row in cells
    ]
    return "\n".join([lines[0], "-" * len(lines[0]), *lines[1:]])
