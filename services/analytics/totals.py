"""A partition's running totals and funnel windows, how one fold changes them, and their
plain documents (one per part, so a publish rewrites only the parts it touched).

Pure: no Faust, no Redis; the read model holds the documents this module writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from services.analytics.cycle import cycle_contribution
from services.analytics.deals import DealRecord
from services.analytics.facts import NurtureFact
from services.analytics.forecast import forecast_contribution
from services.analytics.funnel import funnel_change
from services.analytics.leads import LeadRecord
from services.analytics.nurture_stats import count_nurture
from services.analytics.pipeline import stage_contribution
from services.analytics.reps import rep_deal_contribution, rep_lead_contribution
from services.analytics.speed import SlaPolicy, speed_contribution
from services.analytics.tally import EMPTY, Tally, combine, negate, tally_from_dict, tally_to_dict
from services.analytics.windows import (
    DEFAULT_GRACE,
    Granularity,
    Stamped,
    Windows,
    flatten,
    place_split,
    windows_from_dict,
    windows_to_dict,
)

Docs = Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True)
class PartitionTotals:
    """Running sums split into sections by the first key part (funnel, speed, rep, forecast...),
    and the funnel's hour and day windows by event time."""

    hour: Windows
    day: Windows
    sections: Mapping[str, Tally] = field(default_factory=dict)

    @property
    def running(self) -> Tally:
        """Every section summed into one tally."""
        return combine(*self.sections.values())


def new_totals(grace: timedelta = DEFAULT_GRACE, hours: int = 48, days: int = 35) -> PartitionTotals:
    """Empty totals keeping `hours` hour windows and `days` day windows."""
    return PartitionTotals(Windows("hour", grace, hours), Windows("day", grace, days))


def add_running(totals: PartitionTotals, change: Tally) -> PartitionTotals:
    """Add a change; sections it does not touch keep their identity (so they are not rewritten)."""
    sections = dict(totals.sections)
    for name in {key[0] for key in change.entries}:
        part = Tally({k: v for k, v in change.entries.items() if k[0] == name})
        sections[name] = combine(sections.get(name, EMPTY), part)
    return replace(totals, sections={name: t for name, t in sections.items() if t != EMPTY})


def lead_contribution(record: LeadRecord | None, policy: SlaPolicy) -> Tally:
    """A lead's share of the unwindowed totals: speed, SLA and its rep's numbers."""
    return combine(speed_contribution(record, policy), rep_lead_contribution(record))


def deal_contribution(record: DealRecord | None) -> Tally:
    """A deal's share: forecast, cycle time, its owner's numbers and the stage it sits in."""
    parts = (forecast_contribution, cycle_contribution, rep_deal_contribution, stage_contribution)
    return combine(*(part(record) for part in parts))


def apply_lead(
    totals: PartitionTotals, before: LeadRecord | None, after: LeadRecord, event_time: datetime, policy: SlaPolicy
) -> PartitionTotals:
    """Replace one lead's old contribution with its new one; funnel parts go to their windows."""
    return apply_lead_split(totals, before, after, event_time, policy)[0]


def apply_lead_split(
    totals: PartitionTotals, before: LeadRecord | None, after: LeadRecord, event_time: datetime, policy: SlaPolicy
) -> tuple[PartitionTotals, dict[Granularity, Stamped]]:
    """As apply_lead, and the funnel parts that missed their closed window, per granularity
    (the lead remembers them, so its partition's windows can be recounted from the leads)."""
    funnel = funnel_change(before, after)
    hour, late_hour = place_split(totals.hour, event_time, funnel)
    day, late_day = place_split(totals.day, event_time, funnel)
    change = combine(flatten(funnel), lead_contribution(after, policy), negate(lead_contribution(before, policy)))
    return add_running(replace(totals, hour=hour, day=day), change), {"hour": late_hour, "day": late_day}


def apply_deal(totals: PartitionTotals, before: DealRecord | None, after: DealRecord) -> PartitionTotals:
    """Replace one deal's old contribution with its new one."""
    return add_running(totals, combine(deal_contribution(after), negate(deal_contribution(before))))


def apply_nurture(totals: PartitionTotals, fact: NurtureFact) -> PartitionTotals:
    """Count one nurture outcome; the caller dedupes by event id first."""
    return add_running(totals, count_nurture(EMPTY, fact))


def _windows_parts(windows: Windows) -> dict[str, Any]:
    # The funnel section holds the running funnel, so the windows' own copy is not stored.
    meta = windows_to_dict(replace(windows, buckets={}, running=EMPTY))
    buckets = {f"{windows.granularity}:{s.isoformat()}": t for s, t in windows.buckets.items()}
    return {windows.granularity: meta, **buckets}


def _parts(totals: PartitionTotals) -> dict[str, Any]:
    """Every part by name: Tally objects for sections and buckets, plain dicts for window meta."""
    sections = {f"section:{name}": t for name, t in totals.sections.items()}
    return {**sections, **_windows_parts(totals.hour), **_windows_parts(totals.day)}


def _doc(part: Any) -> dict[str, Any]:
    return tally_to_dict(part) if isinstance(part, Tally) else dict(part)


def totals_docs(totals: PartitionTotals) -> dict[str, dict[str, Any]]:
    """Every part as a plain JSON-ready document, keyed by part name."""
    return {name: _doc(part) for name, part in _parts(totals).items()}


def changed_docs(before: PartitionTotals, after: PartitionTotals) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The parts to write (new or changed) and the part names to delete (dropped windows)."""
    old, new = _parts(before), _parts(after)
    writes = {name: _doc(part) for name, part in new.items() if name not in old or old[name] != part}
    return writes, sorted(set(old) - set(new))


def totals_from_docs(docs: Docs, empty: PartitionTotals) -> PartitionTotals:
    """Rebuild totals from their parts; a missing part starts as it is in `empty`."""
    sections = {name[8:]: tally_from_dict(d) for name, d in docs.items() if name.startswith("section:")}
    return PartitionTotals(_windows(docs, empty.hour), _windows(docs, empty.day), sections)


def _windows(docs: Docs, empty: Windows) -> Windows:
    meta = docs.get(empty.granularity)
    base = empty if meta is None else windows_from_dict(meta)
    prefix = f"{empty.granularity}:"
    buckets = {
        datetime.fromisoformat(n[len(prefix) :]): tally_from_dict(d) for n, d in docs.items() if n.startswith(prefix)
    }
    return replace(base, buckets=buckets)


@dataclass(frozen=True)
class Overall:
    """All partitions summed: the running totals and the funnel windows by start."""

    running: Tally
    windows: Mapping[Granularity, Mapping[datetime, Tally]]
    late: Tally


def overall(parts: Iterable[PartitionTotals]) -> Overall:
    """Sum partitions; windows add up start by start (every partition uses the same grid)."""
    totals = list(parts)
    windows: dict[Granularity, dict[datetime, Tally]] = {"hour": {}, "day": {}}
    for part in totals:
        for kind, ws in (("hour", part.hour), ("day", part.day)):
            for start, tally in ws.buckets.items():
                windows[kind][start] = combine(windows[kind].get(start, EMPTY), tally)  # type: ignore[index]
    running = combine(*(part.running for part in totals))
    return Overall(running, windows, combine(*(part.hour.late for part in totals)))
