"""The consent check made at every send."""

from __future__ import annotations

import pytest

from services.nurture.suppression import Suppression, may_send, refusal


def test_fresh_lead_may_get_rep_email_but_not_marketing() -> None:
    """Marketing tracks need marketing consent; a rep's email does not."""
    assert may_send(Suppression(), "rep")
    assert refusal(Suppression(), "marketing") == "no_marketing_consent"
    assert may_send(Suppression(marketing_consent=True), "marketing")


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        (Suppression(unsubscribed=True, marketing_consent=True), "unsubscribed"),
        (Suppression(hard_bounced=True, marketing_consent=True), "hard_bounced"),
        (Suppression(complained=True, marketing_consent=True), "spam_complaint"),
        (Suppression(erased=True, unsubscribed=True, marketing_consent=True), "erased"),
    ],
)
def test_suppressed_leads_are_never_emailed(record: Suppression, reason: str) -> None:
    """Any suppression blocks both kinds of email, with the reason to record."""
    assert refusal(record, "rep") == reason
    assert refusal(record, "marketing") == reason
    assert not may_send(record, "rep")
