"""Tests of nurture outcome attribution and its per-lead dedupe."""

from datetime import timedelta

from services.analytics.inputs import EmailOutcome, LeadInput, SentEmail
from services.analytics.mailings import Mailbox, mailbox_from_dict, mailbox_to_dict, nurture_facts

from .builders import T0


def sent(event_id: str, message: str, step: int = 0) -> LeadInput:
    return LeadInput("L1", event_id, T0, sent=SentEmail(message, "s1", step, "a"))


def outcome(event_id: str, message: str | None, kind: str = "opened") -> LeadInput:
    at = T0 + timedelta(minutes=5)
    return LeadInput("L1", event_id, at, outcome=EmailOutcome(event_id, kind, at, message))  # type: ignore[arg-type]


def run(*items: LeadInput) -> tuple[Mailbox, list[tuple[str, int, str]]]:
    mailbox, seen = Mailbox(), []
    for item in items:
        mailbox, facts = nurture_facts(mailbox, item)
        seen += [(f.kind, f.step, f.event_id) for f in facts]
    return mailbox, seen


def test_an_open_counts_for_the_email_it_names() -> None:
    """An open with a message id counts for that email's step, not the latest one."""
    _, facts = run(sent("e1", "m1", 0), sent("e2", "m2", 1), outcome("o1", "m1"))
    assert facts[-1] == ("opened", 0, "o1")


def test_an_open_without_id_counts_for_the_latest_email() -> None:
    """Without a message id the latest email is the one answered."""
    _, facts = run(sent("e1", "m1", 0), sent("e2", "m2", 1), outcome("o1", None))
    assert facts[-1] == ("opened", 1, "o1")


def test_an_open_overtaking_its_email_waits_for_it() -> None:
    """An open read before its email.outbound record counts once the email arrives."""
    mailbox, facts = run(outcome("o1", "m1"))
    assert facts == [] and len(mailbox.waiting) == 1
    mailbox, facts = nurture_facts(mailbox, sent("e1", "m1"))
    assert [f.kind for f in facts] == ["sent", "opened"] and mailbox.waiting == ()


def test_redelivered_events_count_once() -> None:
    """The same send and open delivered twice count once each."""
    _, facts = run(sent("e1", "m1"), outcome("o1", "m1"), sent("e1", "m1"), outcome("o1", "m1"))
    assert [kind for kind, _, _ in facts] == ["sent", "opened"]


def test_mailbox_round_trips() -> None:
    """The plain form gives back the same mailbox, waiting outcomes included."""
    mailbox, _ = run(sent("e1", "m1"), outcome("o2", "m9"))
    assert mailbox_from_dict(mailbox_to_dict(mailbox)) == mailbox
