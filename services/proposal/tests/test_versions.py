"""Tests of proposal versions: revision, sending, acceptance and expiry."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from services.proposal.pricing import LineRequest, PricingRequest, price_proposal
from services.proposal.tests.samples import CATALOG
from services.proposal.versions import (
    Proposal,
    VersionError,
    accept,
    expire_due,
    expires_at,
    mark_sent,
    open_proposal,
    revise,
    status_at,
)

NOW = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
VALID_UNTIL = date(2025, 6, 30)
PRICED = price_proposal(PricingRequest("USD", (LineRequest("SF-CRM-PRO", 20, Decimal("0.05")),)), CATALOG)


def opened() -> Proposal:
    return open_proposal("P-2025-0001", "opp-1", PRICED, VALID_UNTIL, NOW)


def test_opening_creates_draft_v1() -> None:
    """A new proposal starts at version 1, as a draft."""
    proposal = opened()
    assert [(v.version, v.status) for v in proposal.versions] == [(1, "draft")]


def test_revisions_number_up_and_supersede_earlier_versions() -> None:
    """v2 and v3 follow v1 under the same number; only the latest is live."""
    proposal = mark_sent(opened(), 1, NOW)
    proposal = revise(proposal, PRICED, VALID_UNTIL, NOW)
    proposal = revise(proposal, PRICED, VALID_UNTIL, NOW)
    assert proposal.number == "P-2025-0001"
    assert [(v.version, v.status) for v in proposal.versions] == [(1, "superseded"), (2, "superseded"), (3, "draft")]


def test_only_the_latest_version_can_be_sent() -> None:
    """Sending a superseded version is refused; sending the latest records when."""
    proposal = revise(opened(), PRICED, VALID_UNTIL, NOW)
    with pytest.raises(VersionError, match="superseded by v2"):
        mark_sent(proposal, 1, NOW)
    sent = mark_sent(proposal, 2, NOW)
    assert (sent.latest.status, sent.latest.sent_at) == ("sent", NOW)


def test_unknown_version_is_refused() -> None:
    """Asking for a version that does not exist raises VersionError."""
    with pytest.raises(VersionError, match="no version 5"):
        mark_sent(opened(), 5, NOW)


def test_acceptance_needs_a_sent_latest_version() -> None:
    """A draft cannot be accepted; a sent one can, and is then final."""
    proposal = opened()
    with pytest.raises(VersionError, match="never sent"):
        accept(proposal, 1, NOW)
    accepted = accept(mark_sent(proposal, 1, NOW), 1, NOW)
    assert accepted.latest.status == "accepted"
    with pytest.raises(VersionError, match="accepted"):
        revise(accepted, PRICED, VALID_UNTIL, NOW)


def test_valid_through_the_end_of_the_validity_date() -> None:
    """Expiry is midnight UTC after the validity date."""
    assert expires_at(opened().latest) == datetime(2025, 7, 1, tzinfo=UTC)


def test_expires_once_when_the_validity_passes() -> None:
    """expire_due reports the expiry at the first check past the date, then never again."""
    proposal = mark_sent(opened(), 1, NOW)
    end = datetime(2025, 7, 1, tzinfo=UTC)
    unchanged, none = expire_due(proposal, end - timedelta(microseconds=1))
    assert (unchanged, none) == (proposal, None)
    expired_proposal, expired = expire_due(proposal, end)
    assert expired is not None and expired.status == "expired"
    assert expire_due(expired_proposal, end + timedelta(days=1))[1] is None


def test_an_expired_version_can_be_neither_sent_nor_accepted() -> None:
    """Past its validity a version reads as expired and refuses both actions."""
    proposal = mark_sent(opened(), 1, NOW)
    later = datetime(2025, 7, 2, tzinfo=UTC)
    assert status_at(proposal.latest, later) == "expired"
    for action in (mark_sent, accept):
        with pytest.raises(VersionError, match="expired"):
            action(proposal, 1, later)


def test_an_expired_proposal_can_be_revised_with_a_new_validity() -> None:
    """A revision after expiry is a new live version."""
    proposal, _ = expire_due(opened(), datetime(2025, 7, 2, tzinfo=UTC))
    revised = revise(proposal, PRICED, date(2025, 7, 31), datetime(2025, 7, 2, tzinfo=UTC))
    assert [v.status for v in revised.versions] == ["expired", "draft"]


def test_accepted_proposals_never_expire() -> None:
    """Acceptance is final: the expiry check leaves it alone."""
    accepted = accept(mark_sent(opened(), 1, NOW), 1, NOW)
    assert expire_due(accepted, datetime(2026, 1, 1, tzinfo=UTC)) == (accepted, None)


def test_validity_in_the_past_is_refused() -> None:
    """A version cannot be created already expired."""
    with pytest.raises(VersionError, match="already past"):
        open_proposal("P-1", "opp-1", PRICED, date(2025, 6, 1), NOW)
