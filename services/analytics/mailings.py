"""Which nurture email an open, click, reply, unsubscribe or bounce answers, and the per-lead
memory that makes nurture counts count each event once. Pure; no Faust, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from services.analytics.dedupe import SeenIds, remember, seen_from_dict, seen_to_dict
from services.analytics.facts import NurtureFact
from services.analytics.inputs import EmailOutcome, LeadInput, SentEmail
from services.analytics.nurture_stats import count_enrolment, count_nurture
from services.analytics.tally import EMPTY, Tally, combine

KEEP_EMAILS = 20
SEEN_PER_LEAD = 200


@dataclass(frozen=True)
class Mailbox:
    """A lead's latest emails (oldest first), outcomes that arrived before their email, and the
    nurture event ids already counted.

    Per lead, so the memory follows the lead's partition and stays small; a lead's events are
    re-delivered from its partition's last commit, far fewer than SEEN_PER_LEAD. Topics are not
    ordered with each other, so an open may overtake its email.outbound record: it waits here.
    """

    emails: tuple[SentEmail, ...] = ()
    seen: SeenIds = field(default_factory=lambda: SeenIds(SEEN_PER_LEAD))
    waiting: tuple[EmailOutcome, ...] = ()


def answered(emails: tuple[SentEmail, ...], outcome: EmailOutcome) -> SentEmail | None:
    """The email with the outcome's message id; without an id, the latest one; else None."""
    if outcome.message_id is None:
        return emails[-1] if emails else None
    return next((e for e in emails if e.message_id == outcome.message_id), None)


def _outcome_fact(email: SentEmail, outcome: EmailOutcome) -> NurtureFact:
    return NurtureFact(
        outcome.event_id, email.sequence_id, email.step, email.variant, outcome.kind, outcome.occurred_at
    )


def lead_counts(mailbox: Mailbox, item: LeadInput) -> tuple[Mailbox, Tally]:
    """What one input adds to the lead's nurture and enrolment counts, once per event id."""
    if item.event_id in mailbox.seen or item.enrolment is None:
        mailbox, facts = nurture_facts(mailbox, item)
        return mailbox, combine(*(count_nurture(EMPTY, fact) for fact in facts))
    return replace(mailbox, seen=remember(mailbox.seen, item.event_id)), count_enrolment(item.enrolment)


def nurture_facts(mailbox: Mailbox, item: LeadInput) -> tuple[Mailbox, list[NurtureFact]]:
    """The nurture outcomes one input adds (an email also releases the outcomes waiting for it);
    none for an event id already counted."""
    if item.event_id in mailbox.seen or (item.sent is None and item.outcome is None):
        return mailbox, []
    emails, waiting, facts = mailbox.emails, [*mailbox.waiting], []
    if item.sent is not None:
        sent = item.sent
        emails = (*[e for e in emails if e.message_id != sent.message_id], sent)[-KEEP_EMAILS:]
        facts.append(NurtureFact(item.event_id, sent.sequence_id, sent.step, sent.variant, "sent", item.occurred_at))
    if item.outcome is not None:
        waiting.append(item.outcome)
    still = []
    for outcome in waiting:
        email = answered(emails, outcome)
        if email is None:
            still.append(outcome)
        else:
            facts.append(_outcome_fact(email, outcome))
    return Mailbox(emails, remember(mailbox.seen, item.event_id), tuple(still[-KEEP_EMAILS:])), facts


def mailbox_to_dict(mailbox: Mailbox) -> dict[str, Any]:
    """Plain form."""
    emails = [[e.message_id, e.sequence_id, e.step, e.variant] for e in mailbox.emails]
    waiting = [[o.event_id, o.kind, o.occurred_at.isoformat(), o.message_id] for o in mailbox.waiting]
    return {"emails": emails, "seen": seen_to_dict(mailbox.seen), "waiting": waiting}


def mailbox_from_dict(data: Mapping[str, Any]) -> Mailbox:
    """Inverse of mailbox_to_dict."""
    emails = tuple(SentEmail(m, s, int(step), v) for m, s, step, v in data["emails"])
    waiting = tuple(EmailOutcome(e, kind, datetime.fromisoformat(at), m) for e, kind, at, m in data.get("waiting", []))
    return Mailbox(emails, seen_from_dict(data["seen"]), waiting)
