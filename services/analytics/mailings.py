"""Which nurture email an open, click, reply, unsubscribe or bounce answers, and the per-lead
memory that makes nurture counts count each event once. Pure; no Faust, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from services.analytics.dedupe import SeenIds, remember, seen_from_dict, seen_to_dict
from services.analytics.facts import NurtureFact
from services.analytics.inputs import EmailOutcome, LeadInput, SentEmail

KEEP_EMAILS = 20
SEEN_PER_LEAD = 200


@dataclass(frozen=True)
class Mailbox:
    """A lead's latest emails (oldest first) and the nurture event ids already counted.

    Per lead, so the memory follows the lead's partition and stays small; a lead's events are
    re-delivered from its partition's last commit, far fewer than SEEN_PER_LEAD.
    """

    emails: tuple[SentEmail, ...] = ()
    seen: SeenIds = field(default_factory=lambda: SeenIds(SEEN_PER_LEAD))


def answered(mailbox: Mailbox, outcome: EmailOutcome) -> SentEmail | None:
    """The email with the outcome's message id, else the latest one; None before any email."""
    match = [e for e in mailbox.emails if e.message_id == outcome.message_id] or list(mailbox.emails)
    return match[-1] if match else None


def nurture_facts(mailbox: Mailbox, item: LeadInput) -> tuple[Mailbox, list[NurtureFact]]:
    """The nurture outcomes one input adds, none for an event id already counted."""
    if item.event_id in mailbox.seen or (item.sent is None and item.outcome is None):
        return mailbox, []
    emails, facts = mailbox.emails, []
    if item.sent is not None:
        sent = item.sent
        emails = (*[e for e in emails if e.message_id != sent.message_id], sent)[-KEEP_EMAILS:]
        facts.append(NurtureFact(item.event_id, sent.sequence_id, sent.step, sent.variant, "sent", item.occurred_at))
    email = None if item.outcome is None else answered(mailbox, item.outcome)
    if item.outcome is not None and email is not None:
        kind = item.outcome.kind
        facts.append(NurtureFact(item.event_id, email.sequence_id, email.step, email.variant, kind, item.occurred_at))
    return Mailbox(emails, remember(mailbox.seen, item.event_id)), facts


def mailbox_to_dict(mailbox: Mailbox) -> dict[str, Any]:
    """Plain form."""
    emails = [[e.message_id, e.sequence_id, e.step, e.variant] for e in mailbox.emails]
    return {"emails": emails, "seen": seen_to_dict(mailbox.seen)}


def mailbox_from_dict(data: Mapping[str, Any]) -> Mailbox:
    """Inverse of mailbox_to_dict."""
    emails = tuple(SentEmail(m, s, int(step), v) for m, s, step, v in data["emails"])
    return Mailbox(emails, seen_from_dict(data["seen"]))
