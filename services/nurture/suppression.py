"""The consent check made at send time: suppressed leads are never emailed.

Pure: the lead's suppression record is passed in; the caller records every refusal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from services.nurture.sequences import SequenceKind

Refusal = Literal["erased", "unsubscribed", "hard_bounced", "spam_complaint", "no_marketing_consent"]


@dataclass(frozen=True)
class Suppression:
    """What is known about a lead's address and consent; the defaults are a fresh lead."""

    unsubscribed: bool = False
    hard_bounced: bool = False
    complained: bool = False
    erased: bool = False
    marketing_consent: bool = False


def refusal(record: Suppression, kind: SequenceKind) -> Refusal | None:
    """Why an email of this kind must not go to the lead, or None if it may.

    Erasure comes first so that the recorded reason never needs the erased data. A rep's
    one-to-one email does not need marketing consent; a marketing track does.
    """
    reasons: tuple[tuple[bool, Refusal], ...] = (
        (record.erased, "erased"),
        (record.unsubscribed, "unsubscribed"),
        (record.hard_bounced, "hard_bounced"),
        (record.complained, "spam_complaint"),
        (kind == "marketing" and not record.marketing_consent, "no_marketing_consent"),
    )
    return next((reason for flagged, reason in reasons if flagged), None)


def may_send(record: Suppression, kind: SequenceKind) -> bool:
    """True when an email of this kind may go to the lead now."""
    return refusal(record, kind) is None
