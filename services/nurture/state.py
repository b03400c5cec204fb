"""Enrolment state as frozen dataclasses that round-trip exactly through plain dicts.

This is the value stored per lead_id in the enrolments table; no transitions live here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from services.nurture.sequences import SequenceKind

Status = Literal["active", "paused", "exited", "completed"]
Change = Literal["enrolled", "step_sent", "step_skipped", "paused", "resumed", "exited", "completed"]


def enrolment_id(lead_id: str, sequence_id: str, generation: int) -> str:
    """Deterministic id: the same lead, sequence and generation always give the same id."""
    digest = hashlib.sha256(f"{lead_id}\x1f{sequence_id}\x1f{generation}".encode()).hexdigest()
    return f"enr_{digest[:24]}"


def _to_utc(value: datetime | None) -> datetime | None:
    if value is not None and value.utcoffset() is None:
        raise ValueError("enrolment instants must be timezone-aware")
    return None if value is None else value.astimezone(UTC)


def _when(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def _parse_when(value: object) -> datetime | None:
    return None if value is None else datetime.fromisoformat(str(value)).astimezone(UTC)


@dataclass(frozen=True)
class Enrolment:
    """One lead in one sequence: `step_index` is the next step to send, `next_due` its due time."""

    enrolment_id: str
    lead_id: str
    sequence_id: str
    kind: SequenceKind
    generation: int
    status: Status
    step_index: int
    enrolled_at: datetime
    next_due: datetime | None
    paused_until: datetime | None = None
    exit_reason: str | None = None
    ended_at: datetime | None = None
    milestones: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Stored instants are UTC: an ambiguous local time (fold=1) compares unequal to
        # every other zone's datetime, which would break equality after a round trip.
        for name in ("enrolled_at", "next_due", "paused_until", "ended_at"):
            object.__setattr__(self, name, _to_utc(getattr(self, name)))

    @property
    def is_live(self) -> bool:
        """Active or paused: it still holds the lead's place in the sequence."""
        return self.status in ("active", "paused")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict; instants as UTC ISO 8601 strings."""
        return {
            "enrolment_id": self.enrolment_id,
            "lead_id": self.lead_id,
            "sequence_id": self.sequence_id,
            "kind": self.kind,
            "generation": self.generation,
            "status": self.status,
            "step_index": self.step_index,
            "enrolled_at": _when(self.enrolled_at),
            "next_due": _when(self.next_due),
            "paused_until": _when(self.paused_until),
            "exit_reason": self.exit_reason,
            "ended_at": _when(self.ended_at),
            "milestones": list(self.milestones),
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Enrolment:
        """Inverse of to_dict; instants come back as UTC-aware datetimes."""
        enrolled_at = _parse_when(raw["enrolled_at"])
        if enrolled_at is None:
            raise ValueError("enrolled_at is required")
        return cls(
            raw["enrolment_id"],
            raw["lead_id"],
            raw["sequence_id"],
            raw["kind"],
            int(raw["generation"]),
            raw["status"],
            int(raw["step_index"]),
            enrolled_at,
            _parse_when(raw.get("next_due")),
            _parse_when(raw.get("paused_until")),
            raw.get("exit_reason"),
            _parse_when(raw.get("ended_at")),
            tuple(raw.get("milestones", ())),
        )


@dataclass(frozen=True)
class LeadEnrolments:
    """Every enrolment of one lead, live and ended, in enrolment order."""

    lead_id: str
    enrolments: tuple[Enrolment, ...] = ()

    def live(self) -> tuple[Enrolment, ...]:
        """The enrolments still holding a place (active or paused)."""
        return tuple(e for e in self.enrolments if e.is_live)

    def get(self, enrolment_id: str) -> Enrolment | None:
        """The enrolment with this id, or None."""
        return next((e for e in self.enrolments if e.enrolment_id == enrolment_id), None)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for the table value."""
        return {
            "lead_id": self.lead_id,
            "enrolments": [e.to_dict() for e in self.enrolments],
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> LeadEnrolments:
        """Inverse of to_dict."""
        return cls(raw["lead_id"], tuple(Enrolment.from_dict(e) for e in raw["enrolments"]))


@dataclass(frozen=True)
class EnrolmentChanged:
    """What happened to an enrolment; the wiring publishes it on nurture.enrolments."""

    enrolment_id: str
    lead_id: str
    sequence_id: str
    change: Change
    at: datetime
    step_index: int | None = None
    reason: str | None = None
