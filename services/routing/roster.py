"""Sales reps as routing sees them, and their `reps.roster` record form.

Conversion and validation only: no Kafka, Avro or Redis; a file is read only if named.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from services.routing.policy import read_yaml

# A rep whose territories include this covers every country.
GLOBAL_TERRITORY = "*"
# RepProfile's schema default, so a YAML roster and the topic read a missing field alike.
DEFAULT_CAPACITY = 50


class RosterError(ValueError):
    """A roster record is malformed; the message names the rep and the field."""


@dataclass(frozen=True)
class Rep:
    """A rep. Empty `products` or `segments`: a generalist; empty `territories`: covers none.

    `capacity` is the most open leads the rep holds at once; 0 takes no new leads.
    """

    rep_id: str
    name: str
    email: str
    capacity: int
    territories: frozenset[str]
    products: frozenset[str] = frozenset()
    segments: frozenset[str] = frozenset()
    active: bool = True
    timezone: str = "UTC"
    manager: str | None = None


def rep_from_dict(record: Mapping[str, Any]) -> Rep:
    """A Rep from a roster record; raises RosterError naming the rep and field.

    Territories are upper-cased, products and segments lower-cased; nulls take defaults.
    """
    rep_id = _rep_id(record.get("rep_id"))
    return Rep(
        rep_id=rep_id,
        name=_text(record, "name", rep_id),
        email=_text(record, "email", rep_id),
        capacity=_capacity(record.get("capacity", DEFAULT_CAPACITY), rep_id),
        territories=_codes(record.get("territories") or [], "territories", rep_id, str.upper),
        products=_codes(record.get("products") or [], "products", rep_id, str.lower),
        segments=_codes(record.get("segments") or [], "segments", rep_id, str.lower),
        active=_flag(record.get("active", True), rep_id),
        timezone=_text(record, "timezone", rep_id) if record.get("timezone") else "UTC",
        manager=_manager(record.get("manager"), rep_id),
    )


def rep_to_dict(rep: Rep, updated_at: datetime | None = None) -> dict[str, Any]:
    """The RepProfile record for `rep` (sets as sorted lists); `updated_at` added if given."""
    record: dict[str, Any] = {
        "rep_id": rep.rep_id,
        "name": rep.name,
        "email": rep.email,
        "active": rep.active,
        "capacity": rep.capacity,
        "territories": sorted(rep.territories),
        "products": sorted(rep.products),
        "segments": sorted(rep.segments),
        "timezone": rep.timezone,
        "manager": rep.manager,
    }
    return record if updated_at is None else {**record, "updated_at": updated_at}


def load_roster(source: str | Path) -> tuple[Rep, ...]:
    """Parse a `reps:` YAML list from text or a file path; rep_ids must be unique."""
    doc = read_yaml(source, RosterError)
    items = doc.get("reps") if isinstance(doc, Mapping) else None
    if not isinstance(items, list) or not all(isinstance(i, Mapping) for i in items):
        raise RosterError("roster: expected a mapping with a `reps` list of mappings")
    reps = tuple(rep_from_dict(item) for item in items)
    ids = [r.rep_id for r in reps]
    if dupes := sorted({i for i in ids if ids.count(i) > 1}):
        raise RosterError(f"roster: duplicate rep_id {dupes}")
    return reps


def _rep_id(value: object) -> str:
    # No whitespace: the round robin's Redis reply separates rep ids with newlines.
    if not isinstance(value, str) or len(value.split()) != 1 or value != value.strip():
        raise RosterError(f"rep_id must be a non-empty string without whitespace, got {value!r}")
    return value


def _text(record: Mapping[str, Any], field: str, rep_id: str) -> str:
    value = record.get(field)
    if not isinstance(value, str) or not value.strip():
        raise RosterError(f"rep {rep_id}: {field} must be a non-empty string, got {value!r}")
    return value.strip()


def _manager(value: object, rep_id: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise RosterError(f"rep {rep_id}: manager must be a string or null, got {value!r}")
    return value or None


def _capacity(value: object, rep_id: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise RosterError(f"rep {rep_id}: capacity must be a non-negative integer, got {value!r}")
    return value


def _flag(value: object, rep_id: str) -> bool:
    if not isinstance(value, bool):
        raise RosterError(f"rep {rep_id}: active must be true or false, got {value!r}")
    return value


def _codes(value: object, field: str, rep_id: str, norm: Callable[[str], str]) -> frozenset[str]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v.strip() for v in value):
        raise RosterError(f"rep {rep_id}: {field} must be a list of non-empty strings, got {value!r}")
    return frozenset(norm(v.strip()) for v in value)
