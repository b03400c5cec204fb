"""proposal's command agent: proposals.commands → proposals.accepted and the deal's close_won, or
proposals.withdrawn, or proposals.rejected naming why.

It runs on the deal's partition like the other agents, so it is the ledger's only writer there; a
refused command changes nothing and is not remembered, so its replay re-sends the same rejection id.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from services.proposal import events
from services.proposal.commands import Applied, Refusal, apply_command
from services.proposal.ledger import Ledger

if TYPE_CHECKING:
    from services.proposal.app import Proposals


class CommandAgent:
    """Applies ProposalCommand records to the ledger of their deal."""

    def __init__(self, proposals: Proposals) -> None:
        self.proposals, self.runtime = proposals, proposals.runtime

    async def apply(self, ledger: Ledger, command: dict[str, Any], now: datetime) -> None:
        number = command["number"]
        outcome = apply_command(ledger.find(number), number, command["type"], command.get("version"), now)
        if isinstance(outcome, Refusal):
            return await self._reject(command, outcome, now)
        if outcome.kind == "accept":
            await self._accepted(outcome, command, now)
        else:
            await self._withdrawn(outcome, command, now)
        await self.proposals.save(ledger, outcome.file, command["event_id"], now, _OUTCOMES[outcome.kind])

    async def _accepted(self, applied: Applied, command: dict[str, Any], now: datetime) -> None:
        file, version, key = applied.file, applied.version, command["opportunity_id"]
        close = events.close_won(file, version, command["event_id"], now)
        await self.runtime.send("proposals.accepted", key, events.accepted(file, version, command, now))
        await self.runtime.send("opportunities.commands", key, close)

    async def _withdrawn(self, applied: Applied, command: dict[str, Any], now: datetime) -> None:
        record = events.withdrawn(applied.file, applied.version, command, now)
        await self.runtime.send("proposals.withdrawn", command["opportunity_id"], record)

    async def _reject(self, command: dict[str, Any], refusal: Refusal, now: datetime) -> None:
        record = events.command_rejected(command, refusal.reason, refusal.detail, now)
        await self.runtime.send("proposals.rejected", command["opportunity_id"], record)
        self.proposals.outcomes.labels("rejected").inc()
        self.runtime.log.info(
            "proposal_command_rejected", number=command["number"], command_type=command["type"], reason=refusal.reason
        )


_OUTCOMES = {"accept": "accepted", "withdraw": "withdrawn"}


def install_commands(proposals: Proposals) -> CommandAgent:
    agent = CommandAgent(proposals)
    proposals.runtime.consume("proposals.commands", proposals.once(agent.apply))
    return agent
