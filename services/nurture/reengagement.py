"""Re-engagement of silent leads: when a lead's silence starts or stops counting, and who qualifies.

Pure: the scheduler keeps a sorted set of when each lead went quiet; this module says how a lead's
record and its changes move that instant, and whether a lead found silent is enrolled.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Literal

from services.nurture.leads import LeadRecord
from services.nurture.state import EnrolmentChanged

# "remove": not silent (a live enrolment); a datetime: silent since then; None: unchanged.
ActivityUpdate = Literal["remove"] | datetime | None
_ENDINGS = frozenset({"exited", "completed"})


def activity_update(record: LeadRecord, changes: Iterable[EnrolmentChanged], reengage_id: str) -> ActivityUpdate:
    """How the lead's place in the silence set moves after a change of its enrolments.

    A live enrolment takes the lead out; the end of its last one starts the silence. The end of
    a re-engagement leaves the lead out: only a new engagement makes it eligible again, so a
    silent lead is re-engaged once per silence, not every N days forever.
    """
    if record.enrolments.live():
        return "remove"
    ends = [c.at for c in changes if c.change in _ENDINGS and c.sequence_id != reengage_id]
    return max(ends) if ends else None


def wants_reengagement(record: LeadRecord, reengage_id: str) -> bool:
    """A lead found silent is enrolled when it has consent, an address and no live enrolment."""
    consent = record.profile is not None and record.profile.marketing_consent and bool(record.profile.email)
    return bool(reengage_id) and consent and not record.enrolments.live()
