"""Frozen dataclasses mirroring the contract's Avro records, and the generic bridge to dicts.

Field names and defaults match schemas/avro/*.avsc exactly (a test checks it). No I/O here.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class LeadSubmitted:
    RECORD: ClassVar[str] = "LeadSubmitted"
    event_id: str
    occurred_at: datetime
    source: str
    email: str
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    company: str | None = None
    job_title: str | None = None
    industry: str | None = None
    employees: int | None = None
    annual_revenue: int | None = None
    country: str | None = None
    region: str | None = None
    product_interest: str | None = None
    marketing_consent: bool = False
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class EngagementEvent:
    RECORD: ClassVar[str] = "EngagementEvent"
    event_id: str
    occurred_at: datetime
    type: str
    lead_id: str | None = None
    email: str | None = None
    url: str | None = None
    campaign: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LeadCaptured:
    RECORD: ClassVar[str] = "LeadCaptured"
    event_id: str
    lead_id: str
    email: str
    occurred_at: datetime
    captured_at: datetime
    source: str
    is_new: bool = True
    company_domain: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    company: str | None = None
    job_title: str | None = None
    industry: str | None = None
    employees: int | None = None
    annual_revenue: int | None = None
    country: str | None = None
    region: str | None = None
    product_interest: str | None = None
    marketing_consent: bool = False
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ScoreFactor:
    name: str
    points: float
    detail: str = ""
    event_id: str | None = None
    occurred_at: datetime | None = None
    base_points: float | None = None
    decay: float | None = None


@dataclass(frozen=True)
class LeadScored:
    RECORD: ClassVar[str] = "LeadScored"
    event_id: str
    lead_id: str
    email: str
    occurred_at: datetime
    score: int
    fit_score: int
    engagement_score: int
    grade: str
    captured_at: datetime | None = None
    temperature: str = "cold"
    explanation: tuple[ScoreFactor, ...] = ()


@dataclass(frozen=True)
class LeadQualified:
    RECORD: ClassVar[str] = "LeadQualified"
    event_id: str
    lead_id: str
    email: str
    occurred_at: datetime
    score: int
    grade: str
    threshold: int
    captured_at: datetime | None = None
    company_domain: str | None = None
    country: str | None = None
    region: str | None = None
    product_interest: str | None = None
    employees: int | None = None
    source: str | None = None


@dataclass(frozen=True)
class RoutingCandidate:
    rep_id: str
    outcome: str
    reason: str


@dataclass(frozen=True)
class LeadAssigned:
    RECORD: ClassVar[str] = "LeadAssigned"
    event_id: str
    lead_id: str
    email: str
    occurred_at: datetime
    rule: str
    reason: str
    sla_due_at: datetime
    rep_id: str | None = None
    queue: str | None = None
    grade: str = "D"
    captured_at: datetime | None = None
    candidates: tuple[RoutingCandidate, ...] = ()


@dataclass(frozen=True)
class RepProfile:
    RECORD: ClassVar[str] = "RepProfile"
    rep_id: str
    name: str
    email: str
    updated_at: datetime
    active: bool = True
    capacity: int = 50
    territories: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()
    timezone: str = "UTC"
    manager: str | None = None


def to_avro(record: Any) -> dict[str, Any]:
    """A record dataclass as the dict the codec encodes (tuples become lists, recursively)."""
    names = _field_names(type(record))  # type: ignore[arg-type]  # classes are hashable; mypy does not see type as such
    return {name: _plain(getattr(record, name)) for name in names}


@functools.cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, _SCALARS):
        return value
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return dict(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_avro(value)
    return value


# What a record's field holds as the codec takes it: nothing to convert.
_SCALARS = (str, int, float, bytes, datetime)


def from_avro(cls: type[T], value: typing.Mapping[str, Any]) -> T:
    """Build record `cls` from a decoded dict; unknown keys (newer writers) are ignored."""
    decode = _decoder(cls)  # type: ignore[arg-type]  # as above
    return typing.cast(T, decode(value))


Convert = typing.Callable[[Any], Any]


@functools.cache
def _decoder(cls: type) -> Convert:
    """The function that builds `cls` from a decoded dict. Type hints are resolved and a converter
    chosen per field once per class: resolving them per record cost more than decoding."""
    hints = typing.get_type_hints(cls)
    fields = tuple((f.name, _converter(hints[f.name])) for f in dataclasses.fields(cls))

    def decode(value: typing.Mapping[str, Any]) -> Any:
        return cls(
            **{
                name: value[name] if convert is None else convert(value[name])
                for name, convert in fields
                if name in value
            }
        )

    return decode


def _converter(hint: Any) -> Convert | None:
    """How a decoded value becomes what a field of type `hint` holds; None when it already is."""
    origin = typing.get_origin(hint)
    if origin is tuple:
        item = _converter(typing.get_args(hint)[0])
        if item is None:
            return lambda value: None if value is None else tuple(value)
        return lambda value: None if value is None else tuple(item(v) for v in value)
    if origin in (types.UnionType, typing.Union):
        inner = _converter(next(a for a in typing.get_args(hint) if a is not type(None)))
        return None if inner is None else lambda value: None if value is None else inner(value)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        nested = _decoder(hint)
        return lambda value: nested(value) if isinstance(value, dict) else value
    return None
