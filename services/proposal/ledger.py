"""An opportunity's proposals and the event ids already applied to them: one table value.

Pure: dedupe by event id (bounded memory of recent ids), lookup and replacement of files.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from services.proposal.workflow import ProposalFile, UnknownProposal

REMEMBERED_EVENTS = 200


@dataclass(frozen=True)
class Ledger:
    """Proposals by number in creation order; `seen` holds the most recent applied event ids."""

    files: tuple[ProposalFile, ...] = ()
    seen: tuple[str, ...] = ()

    def has_seen(self, event_id: str) -> bool:
        return event_id in self.seen

    def find(self, number: str) -> ProposalFile | None:
        return next((f for f in self.files if f.number == number), None)

    def file(self, number: str) -> ProposalFile:
        found = self.find(number)
        if found is None:
            raise UnknownProposal(f"no proposal {number!r} on this opportunity")
        return found


def record(ledger: Ledger, file: ProposalFile, event_id: str) -> Ledger:
    """Put `file` in place (or add it) and remember `event_id` as applied."""
    files = tuple(file if f.number == file.number else f for f in ledger.files)
    if ledger.find(file.number) is None:
        files = (*files, file)
    return replace(ledger, files=files, seen=remember(ledger.seen, event_id))


def remember(seen: tuple[str, ...], event_id: str) -> tuple[str, ...]:
    """Append an id, forgetting the oldest beyond the bound (replays arrive soon, not weeks later)."""
    return (*seen, event_id)[-REMEMBERED_EVENTS:]
