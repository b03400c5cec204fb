"""Erasing a contact person from proposals: the name and email printed for the customer go; the
company and its postal address (the deal's, not the person's) stay.

Pure: no I/O and no clock; re-rendering the documents and sending the commands are the caller's.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from services.proposal.presentation import Party
from services.proposal.workflow import ProposalFile, Quote

ERASURE = "erasure"  # the proposals.due kind that carries an erasure to the proposal's partition


@dataclass(frozen=True, order=True)
class ProposalRef:
    """One proposal as the erasure index names it: its deal (the partition key) and number."""

    opportunity_id: str
    number: str

    def encode(self) -> str:
        return f"{self.opportunity_id}\x1f{self.number}"

    @classmethod
    def decode(cls, raw: str) -> ProposalRef:
        opportunity_id, number = raw.split("\x1f", 1)
        return cls(opportunity_id, number)


def contact_digest(email: str) -> str | None:
    """Hex SHA-256 of the normalised email, as an erasure request carries it; None for no email."""
    normalised = email.strip().lower()
    return hashlib.sha256(normalised.encode()).hexdigest() if normalised else None


def redact_party(party: Party) -> Party:
    return replace(party, contact="", email="")


def redact_file(file: ProposalFile) -> ProposalFile:
    """Every version's printed contact removed; prices, approvals and document URLs untouched."""
    revisions = tuple(
        replace(r, quote=replace(r.quote, customer=redact_party(r.quote.customer))) for r in file.revisions
    )
    return replace(file, revisions=revisions)


def _redact_quote(quote: Quote) -> Quote:
    return replace(quote, customer=redact_party(quote.customer))


def has_contact(file: ProposalFile) -> bool:
    """True while any version still names a contact person or email."""
    return any(r.quote.customer.contact or r.quote.customer.email for r in file.revisions)


def rendered_versions(file: ProposalFile) -> tuple[int, ...]:
    """The versions whose documents were stored (those to render again without the contact)."""
    return tuple(i + 1 for i, r in enumerate(file.revisions) if r.documents is not None)


def erasure_command(request: dict[str, Any], ref: ProposalRef, now: datetime) -> dict[str, Any]:
    """The ProposalDue record that erases the contact of one proposal on its deal's partition.

    Its event id derives from the request's and the number, so a replayed request dedupes.
    """
    return {
        "event_id": f"{request['event_id']}:proposal:{ref.number}",
        "occurred_at": now,
        "opportunity_id": ref.opportunity_id,
        "number": ref.number,
        "version": 0,
        "kind": ERASURE,
        "due_at": now,
    }
