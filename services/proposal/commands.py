"""Proposal commands (ProposalCommand records) checked against the proposal they name.

Pure: a command either applies (the new file and the version it concerns) or is refused with a
machine-readable reason and a sentence for people; nothing is half applied. `now` is an argument.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from services.proposal import versions
from services.proposal.workflow import ProposalFile, accept_version, withdraw_version

# Both act on the live offer only: the latest version, sent and still valid.
COMMANDS: dict[str, Callable[[ProposalFile, int, datetime], ProposalFile]] = {
    "accept": accept_version,
    "withdraw": withdraw_version,
}
KNOWN_COMMANDS = tuple(COMMANDS)


@dataclass(frozen=True)
class Refusal:
    """Why a command cannot apply: `reason` is one of ProposalCommandRejected's reasons."""

    reason: str
    detail: str


@dataclass(frozen=True)
class Applied:
    """The file after the command, the command's kind and the version it accepted or withdrew."""

    kind: str
    file: ProposalFile
    version: versions.ProposalVersion


def apply_command(
    file: ProposalFile | None, number: str, kind: str, version: int | None, now: datetime
) -> Applied | Refusal:
    """Apply a command to the proposal `number` (None: this deal has no such proposal)."""
    if kind not in COMMANDS:
        return Refusal("unknown_command", f"unknown proposal command {kind!r}; known: {', '.join(KNOWN_COMMANDS)}")
    if file is None:
        return Refusal("unknown_proposal", f"no proposal {number!r} on this opportunity")
    wanted = version if version is not None else file.proposal.latest.version
    refusal = live_offer_refusal(file.proposal, wanted, now)
    if refusal is not None:
        return refusal
    changed = COMMANDS[kind](file, wanted, now)
    return Applied(kind, changed, changed.proposal.get(wanted))


def live_offer_refusal(proposal: versions.Proposal, version: int, now: datetime) -> Refusal | None:
    """Why `version` is not the live offer at `now`, or None: it must be the latest, sent and still valid."""
    where = f"{proposal.number} v{version}"
    if not 1 <= version <= len(proposal.versions):
        return Refusal("unknown_version", f"{proposal.number} has no version {version}")
    latest = proposal.latest
    if version != latest.version:
        return Refusal("superseded", f"{where} is superseded by v{latest.version}")
    status = versions.status_at(latest, now)
    if status == "sent":
        return None
    if status == "expired":
        return Refusal("expired", f"{where} expired after {latest.valid_until.isoformat()}")
    if status == "accepted":
        return Refusal("already_accepted", f"{where} is accepted already")
    if status == "withdrawn":
        return Refusal("withdrawn", f"{where} was withdrawn")
    return Refusal("not_sent", f"{where} was never sent (it awaits approval)")
