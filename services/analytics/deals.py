"""One opportunity's analytics record: its latest snapshot, when it opened, entered each stage
and reached each status. Pure fold, idempotent and order-independent; no Faust, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar, cast

from services.analytics.facts import DealFact, DealStatus, deal_from_dict, deal_to_dict

Outcome = Literal["won", "lost"]
K = TypeVar("K")


@dataclass(frozen=True)
class DealRecord:
    """The latest snapshot by (occurred_at, event_id), with earliest times seen."""

    latest: DealFact
    opened_at: datetime
    stage_entered: Mapping[str, datetime]
    status_since: Mapping[DealStatus, datetime]


def fold_deal(record: DealRecord | None, fact: DealFact) -> DealRecord:
    """Merge one snapshot; commutative and idempotent, so re-delivery and reordering are safe."""
    if record is None:
        at = fact.occurred_at
        return DealRecord(fact, at, {fact.stage: at}, {fact.status: at})
    newer = (fact.occurred_at, fact.event_id) > (
        record.latest.occurred_at,
        record.latest.event_id,
    )
    return DealRecord(
        latest=fact if newer else record.latest,
        opened_at=min(record.opened_at, fact.occurred_at),
        stage_entered=_earliest(record.stage_entered, fact.stage, fact.occurred_at),
        status_since=_earliest(record.status_since, fact.status, fact.occurred_at),
    )


def _earliest(times: Mapping[K, datetime], key: K, at: datetime) -> dict[K, datetime]:
    merged = dict(times)
    merged[key] = min(at, merged.get(key, at))
    return merged


def outcome(record: DealRecord) -> Outcome | None:
    """won or lost by the latest snapshot; None while open."""
    status = record.latest.status
    return None if status == "open" else status


def closed_at(record: DealRecord) -> datetime | None:
    """When the deal first reached its final status; None while open."""
    final = outcome(record)
    return None if final is None else record.status_since[final]


def stage_durations(record: DealRecord) -> dict[str, timedelta]:
    """Time in each stage entered before close: until the next stage's entry or the close."""
    end = closed_at(record)
    if end is None:
        return {}
    entries = sorted((at, stage) for stage, at in record.stage_entered.items() if at < end)
    if not entries:
        return {}  # first seen already closed: no time in any stage is known
    ends = [at for at, _ in entries[1:]] + [end]
    return {stage: left - at for (at, stage), left in zip(entries, ends, strict=True)}


def deal_record_to_dict(record: DealRecord) -> dict[str, Any]:
    """Plain form with ISO 8601 times."""
    return {
        "latest": deal_to_dict(record.latest),
        "opened_at": record.opened_at.isoformat(),
        "stage_entered": {k: v.isoformat() for k, v in record.stage_entered.items()},
        "status_since": {k: v.isoformat() for k, v in record.status_since.items()},
    }


def deal_record_from_dict(data: Mapping[str, Any]) -> DealRecord:
    """Inverse of deal_record_to_dict."""
    since = data["status_since"].items()
    return DealRecord(
        latest=deal_from_dict(data["latest"]),
        opened_at=datetime.fromisoformat(data["opened_at"]),
        stage_entered={k: datetime.fromisoformat(v) for k, v in data["stage_entered"].items()},
        status_since={cast(DealStatus, k): datetime.fromisoformat(v) for k, v in since},
    )
