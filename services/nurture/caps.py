"""Frequency caps per lead and throttles per mailbox: the earliest instant a send is allowed.

Overflow waits, never drops. Pure: the send history and the candidate instant are passed in.
"""

from __future__ import annotations

import re
from bisect import insort
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

_UNITS = {
    "minute": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
    "24h": timedelta(hours=24),
    "week": timedelta(weeks=1),
}
_CAP = re.compile(r"^\s*(\d+)\s*/\s*(minute|hour|day|24h|week)\s*$")


@dataclass(frozen=True)
class Cap:
    """At most `limit` sends in any rolling `period` (a send exactly `period` later is allowed)."""

    limit: int
    period: timedelta

    def __post_init__(self) -> None:
        if self.limit < 1 or self.period <= timedelta(0):
            raise ValueError("a cap needs limit >= 1 and a positive period")

    @classmethod
    def parse(cls, text: str) -> Cap:
        """Parse '1/day', '3/week', '20/minute', '500/24h'."""
        match = _CAP.match(text)
        if match is None:
            raise ValueError(f"bad cap {text!r}")
        return cls(int(match.group(1)), _UNITS[match.group(2)])


def respects(sends: Sequence[datetime], cap: Cap) -> bool:
    """True when no rolling period holds more than `cap.limit` of these sends."""
    ordered = sorted(sends)
    return all(ordered[i + cap.limit] - ordered[i] >= cap.period for i in range(len(ordered) - cap.limit))


def _fits(candidate: datetime, history: Sequence[datetime], caps: Iterable[Cap]) -> bool:
    """Whether one more send at `candidate` keeps every cap, given sends already made or booked."""
    ordered = list(history)
    insort(ordered, candidate)
    at = ordered.index(candidate)
    for cap in caps:
        # Only runs of limit+1 consecutive sends that include the new one can break the cap.
        for first in range(max(0, at - cap.limit), min(at, len(ordered) - cap.limit - 1) + 1):
            if ordered[first + cap.limit] - ordered[first] < cap.period:
                return False
    return True


def earliest_allowed(candidate: datetime, history: Iterable[datetime], caps: Sequence[Cap]) -> datetime:
    """The first instant at or after `candidate` at which one more send keeps every cap.

    `history` may hold sends already booked in the future (a mailbox's queue), so the
    answer can fall in a gap between them. Every point where a cap can start to allow a
    send is a booked send plus that cap's period, so only those need checking.
    """
    ordered = sorted(history)
    openings = sorted({s + cap.period for s in ordered for cap in caps if s + cap.period > candidate})
    for moment in (candidate, *openings):
        if _fits(moment, ordered, caps):
            return moment
    raise AssertionError("unreachable: after the last send plus the longest period every cap fits")


def earliest_send(
    candidate: datetime,
    lead_history: Iterable[datetime],
    lead_caps: Sequence[Cap],
    mailbox_history: Iterable[datetime],
    mailbox_caps: Sequence[Cap],
) -> datetime:
    """The first instant at or after `candidate` allowed by both the lead's caps and the mailbox's."""
    lead, mailbox = sorted(lead_history), sorted(mailbox_history)
    moment = candidate
    while True:
        moment = earliest_allowed(earliest_allowed(moment, lead, lead_caps), mailbox, mailbox_caps)
        if _fits(moment, lead, lead_caps):
            return moment
