"""proposal's wiring: each record loads the opportunity's ledger, takes one workflow step, emits, saves.

Requests are priced and either generated at once or held for approval; decisions, due checks and
commands (command_agent.py) move them on; publishing.py renders and stores the documents. Refused
records go to dlq.proposal; a record seen before is skipped.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from services.proposal import events, intake, workflow
from services.proposal.approvals import load_policy
from services.proposal.catalog import load_catalog
from services.proposal.config import PORT, ProposalConfig
from services.proposal.ledger import Ledger, record
from services.proposal.pricing import price_proposal
from services.proposal.publishing import Publisher
from services.proposal.redaction import ProposalRef, contact_digest
from services.proposal.refusals import refused_as_invalid
from services.proposal.reps import install_roster
from services.proposal.store import LedgerTable, ReadModel, SubjectIndex
from services.proposal.views import proposal_view
from shared.dead_letters import RecordMeta
from shared.errors import InvalidRecord
from shared.health import install_health
from shared.runtime import ServiceRuntime, runtime_for

Apply = Callable[[Ledger, dict[str, Any], datetime], Awaitable[None]]


class Proposals:
    def __init__(self, runtime: ServiceRuntime, config: ProposalConfig) -> None:
        self.runtime, self.config = runtime, config
        self.catalog = load_catalog(Path(config.catalog_path))
        self.policy = load_policy(Path(config.approvals_path))
        self.publisher = Publisher(config, install_roster(runtime))
        runtime.log.info("pdf_fonts", regular=config.font_regular or "core", fallback=config.font_fallback or "none")
        self.ledgers = LedgerTable(runtime)
        self.read_model = ReadModel(runtime)
        self.subjects = SubjectIndex(runtime)
        # proposals.due handlers by kind: scheduler.py adds "escalation" and "expiry", erasure.py "erasure".
        self.due_kinds: dict[str, Apply] = {}
        self.outcomes = runtime.metrics.counter("proposal_steps_total", "Workflow steps by outcome.", ("outcome",))

    def once(self, apply: Apply) -> Callable[[dict[str, Any], RecordMeta], Awaitable[None]]:
        """A handler that applies each event id once per opportunity, against its ledger."""

        async def handle(value: dict[str, Any], meta: RecordMeta) -> None:
            ledger = self.ledgers.load(value["opportunity_id"])
            if ledger.has_seen(value["event_id"]):
                self.outcomes.labels("duplicate").inc()
                self.runtime.log.info("duplicate_skipped", event_id=value["event_id"])
            else:
                await apply(ledger, value, datetime.now(UTC))

        return handle

    async def requested(self, ledger: Ledger, value: dict[str, Any], now: datetime) -> None:
        # A new proposal's number derives from its request: finding it means the request was applied.
        if not value["proposal_number"] and ledger.find(workflow.proposal_number(value["event_id"])):
            return
        with refused_as_invalid():
            request = intake.quote_request(value)
            priced = price_proposal(request.pricing, self.catalog)
            file = ledger.file(request.number) if request.number else None
            step = workflow.request_quote(file, request, priced, self.policy, now)
        ref = ProposalRef(request.opportunity_id, step.file.number)
        await self.subjects.remember_proposal(ref, contact_digest(request.quote.customer.email))
        await self.follow(ledger, step, value["event_id"], now)

    async def decided(self, ledger: Ledger, value: dict[str, Any], now: datetime) -> None:
        with refused_as_invalid():
            number, version, decision = intake.decision(value)
            step = workflow.decide_approval(ledger.file(number), version, decision, self.policy)
        await self.follow(ledger, step, value["event_id"], now)

    async def due(self, ledger: Ledger, value: dict[str, Any], now: datetime) -> None:
        handler = self.due_kinds.get(value["kind"])
        if handler is None:
            raise InvalidRecord(f"unknown ProposalDue kind {value['kind']!r}")
        await handler(ledger, value, now)

    async def follow(self, ledger: Ledger, step: workflow.Step, cause_id: str, now: datetime) -> None:
        file, key = step.file, step.file.proposal.opportunity_id
        if step.ask_approval:
            await self.runtime.send(
                "approvals.requested", key, events.approval_requested(file, cause_id, self.policy, now)
            )
        if step.generate:
            file = await self._generate(file, cause_id, now)
        outcome = "generated" if step.generate else "approval_requested" if step.ask_approval else "unchanged"
        await self.save(ledger, file, cause_id, now, outcome)

    async def _generate(self, file: workflow.ProposalFile, cause_id: str, now: datetime) -> workflow.ProposalFile:
        stored = await self.publisher.render(file, file.proposal.latest.version)
        file = workflow.record_generated(file, stored, now)
        await self.runtime.send(
            "proposals.generated", file.proposal.opportunity_id, events.generated(file, cause_id, now)
        )
        return file

    async def save(
        self, ledger: Ledger, file: workflow.ProposalFile, cause_id: str, now: datetime, outcome: str
    ) -> None:
        self.ledgers.save(file.proposal.opportunity_id, record(ledger, file, cause_id))
        await self.read_model.put(proposal_view(file, now))
        self.outcomes.labels(outcome).inc()
        self.runtime.log.info(
            "proposal_updated",
            number=file.number,
            version=file.proposal.latest.version,
            status=file.proposal.latest.status,
            outcome=outcome,
        )


def build(runtime: ServiceRuntime, config: ProposalConfig) -> Proposals:
    """Wire agents, the deadline timer, the HTTP API and health onto the runtime's app."""
    from services.proposal.command_agent import install_commands
    from services.proposal.erasure import install_erasure
    from services.proposal.http_api import install_http_api
    from services.proposal.scheduler import install_scheduler

    proposals = Proposals(runtime, config)
    runtime.consume("proposals.requested", proposals.once(proposals.requested))
    runtime.consume("approvals.decided", proposals.once(proposals.decided))
    runtime.consume("proposals.due", proposals.once(proposals.due))
    install_commands(proposals)
    install_erasure(proposals)
    install_scheduler(proposals)
    install_http_api(proposals)
    install_health(runtime)
    return proposals


def create(env: dict[str, str] | None = None) -> Proposals:
    runtime = runtime_for("proposal", PORT, env)
    return build(runtime, ProposalConfig.from_env(env, runtime.settings.web_port))
