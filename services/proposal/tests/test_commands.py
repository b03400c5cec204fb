"""Tests of proposal commands: acceptance and withdrawal of the live latest version, and every refusal's reason."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest

from services.proposal.commands import Applied, Refusal, apply_command
from services.proposal.http_api import status_now
from services.proposal.pricing import LineRequest
from services.proposal.tests.samples import POLICY
from services.proposal.tests.test_workflow import DOCS, NOW, ask, step
from services.proposal.versions import status_at
from services.proposal.views import proposal_view
from services.proposal.workflow import ProposalFile, record_generated, request_quote

D = Decimal
PLAIN = LineRequest("SF-CRM-STD", 10)
DEEP = LineRequest("SF-CRM-PRO", 10, D("0.20"))


def sent(*lines: LineRequest) -> ProposalFile:
    return record_generated(step(None, ask(*lines)).file, DOCS, NOW)


def test_accepting_the_sent_latest_version_records_it() -> None:
    """accept on a sent, valid latest version marks it accepted and names the version."""
    outcome = apply_command(sent(PLAIN), "P-1", "accept", None, NOW + timedelta(days=1))
    assert isinstance(outcome, Applied)
    assert (outcome.kind, outcome.version.version, outcome.file.proposal.latest.status) == ("accept", 1, "accepted")


def refusal(file: ProposalFile | None, kind: str = "accept", version: int | None = None, days: int = 1) -> str:
    outcome = apply_command(file, "P-1", kind, version, NOW + timedelta(days=days))
    assert isinstance(outcome, Refusal), outcome
    assert outcome.detail
    return outcome.reason


def test_refusals_name_why() -> None:
    """Unknown type or proposal, a missing or superseded version, expired, unsent or accepted: each its reason."""
    live = sent(PLAIN)
    revised = record_generated(step(live, ask(PLAIN, number=live.number, request_id="req-2")).file, DOCS, NOW)
    accepted = apply_command(live, live.number, "accept", 1, NOW)
    assert isinstance(accepted, Applied)
    assert refusal(live, kind="send") == "unknown_command"
    assert refusal(None) == "unknown_proposal"
    assert refusal(live, version=3) == "unknown_version"
    assert refusal(revised, version=1) == "superseded"
    assert refusal(live, days=40) == "expired"
    assert refusal(step(None, ask(DEEP)).file) == "not_sent"
    assert refusal(accepted.file) == "already_accepted"


@pytest.mark.parametrize("version", [None, 1])
def test_a_refused_command_changes_nothing(version: int | None) -> None:
    """A refusal returns no file: the caller has nothing to save."""
    assert isinstance(apply_command(sent(PLAIN), "P-1", "send", version, NOW), Refusal)


def withdrawn(file: ProposalFile, version: int | None = None) -> ProposalFile:
    outcome = apply_command(file, file.number, "withdraw", version, NOW + timedelta(days=1))
    assert isinstance(outcome, Applied), outcome
    assert (outcome.kind, outcome.version.version) == ("withdraw", file.proposal.latest.version)
    return outcome.file


def test_withdrawing_the_sent_latest_version_records_it() -> None:
    """withdraw on a sent, valid latest version marks it withdrawn, and the view shows it so."""
    file = withdrawn(sent(PLAIN), version=1)
    assert file.proposal.latest.status == "withdrawn"
    assert proposal_view(file, NOW)["status"] == "withdrawn"
    assert [v["status"] for v in proposal_view(file, NOW)["versions"]] == ["withdrawn"]


def test_a_withdrawn_version_cannot_be_accepted_or_withdrawn_again() -> None:
    """Accepting or withdrawing a withdrawn version is refused as withdrawn; it never reads as expired."""
    file = withdrawn(sent(PLAIN))
    assert refusal(file, kind="accept") == "withdrawn"
    assert refusal(file, kind="withdraw", version=1) == "withdrawn"
    assert refusal(file, kind="accept", days=40) == "withdrawn"
    assert status_at(file.proposal.latest, NOW + timedelta(days=40)) == "withdrawn"


def test_withdraw_refuses_what_is_not_the_live_offer() -> None:
    """Only the sent, valid latest version can be withdrawn: the others name why."""
    live = sent(PLAIN)
    revised = record_generated(step(live, ask(PLAIN, number=live.number, request_id="req-2")).file, DOCS, NOW)
    accepted = apply_command(live, live.number, "accept", 1, NOW)
    assert isinstance(accepted, Applied)
    assert refusal(revised, kind="withdraw", version=1) == "superseded"
    assert refusal(live, kind="withdraw", days=40) == "expired"
    assert refusal(step(None, ask(DEEP)).file, kind="withdraw") == "not_sent"
    assert refusal(accepted.file, kind="withdraw") == "already_accepted"


def test_a_withdrawn_proposal_can_be_revised_and_the_revision_accepted() -> None:
    """After a withdrawal the rep sends a revision, which is the live offer again."""
    file = withdrawn(sent(PLAIN))
    revision = request_quote(
        file, ask(PLAIN, number=file.number, request_id="req-2"), file.proposal.latest.priced, POLICY, NOW
    )
    revised = record_generated(revision.file, DOCS, NOW)
    assert [v.status for v in revised.proposal.versions] == ["withdrawn", "sent"]
    assert isinstance(apply_command(revised, revised.number, "accept", 2, NOW), Applied)


def test_the_api_reads_a_sent_view_past_its_validity_as_expired() -> None:
    """A view saved while live reads as expired once its validity date ended, before the expiry is processed."""
    view = proposal_view(sent(PLAIN), NOW)
    assert view["status"] == "sent"
    last_day = datetime.combine(date.fromisoformat(view["versions"][-1]["valid_until"]), time(23, 59), tzinfo=UTC)
    assert status_now(view, last_day) == "sent"
    assert status_now(view, last_day + timedelta(minutes=1)) == "expired"
