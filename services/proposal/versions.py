"""Proposal versioning: one number, versions v1, v2, ...; only the latest is live.

Pure: `now` is an argument. Whether a version is approved is the caller's check, not this module's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from services.proposal.pricing import PricedProposal

VersionStatus = Literal["draft", "sent", "accepted", "superseded", "expired", "withdrawn"]
LIVE: frozenset[VersionStatus] = frozenset({"draft", "sent"})


class VersionError(ValueError):
    """An action the version's state forbids (not the latest, expired, accepted, withdrawn)."""


@dataclass(frozen=True)
class ProposalVersion:
    """One revision: its pricing, the last day it is valid, and where it stands."""

    version: int
    priced: PricedProposal
    valid_until: date
    created_at: datetime
    status: VersionStatus = "draft"
    sent_at: datetime | None = None


@dataclass(frozen=True)
class Proposal:
    """A proposal number with its versions, oldest first."""

    number: str
    opportunity_id: str
    versions: tuple[ProposalVersion, ...]

    @property
    def latest(self) -> ProposalVersion:
        return self.versions[-1]

    def get(self, version: int) -> ProposalVersion:
        if not 1 <= version <= len(self.versions):
            raise VersionError(f"{self.number} has no version {version}")
        return self.versions[version - 1]


def expires_at(version: ProposalVersion) -> datetime:
    """A version is valid through its validity date, to the end of that day in UTC."""
    return validity_ends(version.valid_until)


def validity_ends(valid_until: date) -> datetime:
    """The first moment after a validity date: midnight UTC after it."""
    return datetime.combine(valid_until + timedelta(days=1), time.min, tzinfo=UTC)


def status_at(version: ProposalVersion, now: datetime) -> VersionStatus:
    """The status to show at `now`: a live version past its validity reads as expired."""
    return "expired" if version.status in LIVE and now >= expires_at(version) else version.status


def open_proposal(
    number: str, opportunity_id: str, priced: PricedProposal, valid_until: date, now: datetime
) -> Proposal:
    """Create v1 as a draft."""
    first = _new_version(1, priced, valid_until, now)
    return Proposal(number, opportunity_id, (first,))


def revise(proposal: Proposal, priced: PricedProposal, valid_until: date, now: datetime) -> Proposal:
    """Add the next version as a draft and supersede the earlier live one.

    A revision may follow an expired version (with a new validity), never an accepted one.
    """
    if proposal.latest.status == "accepted":
        raise VersionError(f"{proposal.number} v{proposal.latest.version} is accepted")
    following = _new_version(proposal.latest.version + 1, priced, valid_until, now)
    earlier = tuple(_superseded(v) for v in proposal.versions)
    return replace(proposal, versions=(*earlier, following))


def mark_sent(proposal: Proposal, version: int, now: datetime) -> Proposal:
    """Record that a version went to the customer; only the latest live one can be sent."""
    current = _live_latest(proposal, version, now)
    return _with_latest(proposal, replace(current, status="sent", sent_at=now))


def accept(proposal: Proposal, version: int, now: datetime) -> Proposal:
    """Record the customer's acceptance of the latest version, which must have been sent."""
    return _with_latest(proposal, replace(_sent_latest(proposal, version, now), status="accepted"))


def withdraw(proposal: Proposal, version: int, now: datetime) -> Proposal:
    """Take back the latest sent version: it can no longer be accepted and no longer expires.

    A revision may follow, as after an expiry.
    """
    return _with_latest(proposal, replace(_sent_latest(proposal, version, now), status="withdrawn"))


def expire_due(proposal: Proposal, now: datetime) -> tuple[Proposal, ProposalVersion | None]:
    """Expire the latest version once its validity has passed.

    Returns the version that expired now, or None, so the caller emits one event per expiry.
    """
    current = proposal.latest
    if current.status not in LIVE or now < expires_at(current):
        return proposal, None
    expired = replace(current, status="expired")
    return _with_latest(proposal, expired), expired


def _new_version(number: int, priced: PricedProposal, valid_until: date, now: datetime) -> ProposalVersion:
    candidate = ProposalVersion(number, priced, valid_until, created_at=now)
    if now >= expires_at(candidate):
        raise VersionError(f"validity {valid_until.isoformat()} is already past")
    return candidate


def _superseded(version: ProposalVersion) -> ProposalVersion:
    return replace(version, status="superseded") if version.status in LIVE else version


def _live_latest(proposal: Proposal, version: int, now: datetime) -> ProposalVersion:
    wanted = proposal.get(version)
    if wanted.version != proposal.latest.version:
        raise VersionError(f"{proposal.number} v{version} is superseded by v{proposal.latest.version}")
    if wanted.status not in LIVE or now >= expires_at(wanted):
        raise VersionError(f"{proposal.number} v{version} is {status_at(wanted, now)}")
    return wanted


def _sent_latest(proposal: Proposal, version: int, now: datetime) -> ProposalVersion:
    current = _live_latest(proposal, version, now)
    if current.status != "sent":
        raise VersionError(f"{proposal.number} v{version} was never sent")
    return current


def _with_latest(proposal: Proposal, latest: ProposalVersion) -> Proposal:
    return replace(proposal, versions=(*proposal.versions[:-1], latest))
