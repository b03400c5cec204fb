"""The domain errors that mean a record or command can never succeed as sent.

Agents dead-letter them (`refused_as_invalid`); the HTTP API answers them with 422.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from services.proposal.approvals import ApprovalError
from services.proposal.intake import IntakeError
from services.proposal.pricing import PricingError
from services.proposal.versions import VersionError
from services.proposal.workflow import UnknownProposal
from shared.errors import InvalidRecord

REFUSALS = (PricingError, ApprovalError, VersionError, IntakeError, UnknownProposal)


@contextmanager
def refused_as_invalid() -> Iterator[None]:
    """A record the domain refuses can never succeed: dead-letter it rather than retry."""
    try:
        yield
    except REFUSALS as error:
        raise InvalidRecord(f"{type(error).__name__}: {error}") from error
