"""opportunity's wiring: commands -> the stage machine over the deals table -> changed or rejected.

Decode -> apply_command -> send -> table -> read model, on the deal's own partition. Converted
leads are re-keyed into open commands so their state change lands on the right partition.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from services.opportunity.commands import Command
from services.opportunity.config import PORT, OpportunityConfig
from services.opportunity.domain import Applied, apply_command
from services.opportunity.pipeline import PipelineConfig, load_pipelines
from services.opportunity.records import (
    CommandDecodeError,
    changed_record,
    command_from_record,
    conversion_opportunity_id,
    open_from_conversion,
    rejected_record,
)
from services.opportunity.serialization import opportunity_from_dict, opportunity_to_dict
from services.opportunity.state import Opportunity
from services.opportunity.store import OpportunityStore
from shared.dead_letters import RecordMeta
from shared.errors import InvalidRecord
from shared.health import install_health
from shared.runtime import ServiceRuntime, runtime_for
from shared.tables import JsonTable

COMMANDS = "opportunities.commands"


class Opportunities:
    """The command path; the conversion agent, the alert timer and the HTTP API feed it through Kafka."""

    def __init__(self, runtime: ServiceRuntime, config: OpportunityConfig, pipelines: PipelineConfig) -> None:
        self.runtime, self.config, self.pipelines = runtime, config, pipelines
        self.table = JsonTable(runtime.app, "opportunities", runtime.settings.topic_partitions)
        self.store = OpportunityStore(
            runtime.redis, runtime.redis_key(), runtime.metrics, config.alert_claim_ttl_seconds
        )
        metrics = runtime.metrics
        self.commands_total = metrics.counter("commands_total", "Commands by type and outcome.", ("type", "outcome"))

    def load(self, opportunity_id: str) -> Opportunity | None:
        stored = self.table.get(opportunity_id)
        return None if stored is None else opportunity_from_dict(stored)

    async def on_command(self, value: dict[str, Any], meta: RecordMeta) -> None:
        """Apply one command exactly once per command id; a wrongly keyed one is forwarded, not applied."""
        try:
            command = command_from_record(value)
        except CommandDecodeError as exc:
            raise InvalidRecord(str(exc)) from exc
        if meta.key != command.opportunity_id.encode():
            # The table is partitioned by opportunity_id; applying here would split the deal's state.
            await self.runtime.send(COMMANDS, command.opportunity_id, ("OpportunityCommand", value))
            self.runtime.log.warning("command_rekeyed", opportunity_id=command.opportunity_id)
            return
        await self.apply(command, value["type"])

    async def apply(self, command: Command, kind: str) -> None:
        state = self.load(command.opportunity_id)
        pipeline = self.pipelines.select(state.pipeline if state else getattr(command, "pipeline", None))
        now = datetime.now(UTC)
        outcome = apply_command(state, command, pipeline, now)
        log = self.runtime.log.bind(opportunity_id=command.opportunity_id, command_id=command.command_id, type=kind)
        if not isinstance(outcome, Applied):
            record = rejected_record(command.opportunity_id, command.command_id, kind, outcome, now)
            await self.runtime.send("opportunities.rejected", command.opportunity_id, ("CommandRejected", record))
            self.commands_total.labels(kind, "rejected").inc()
            log.info("command_rejected", reason=outcome.reason.value, detail=outcome.detail)
            return
        if outcome.changed:
            record = changed_record(outcome.state, outcome.changed, command.command_id, kind, pipeline)
            await self.runtime.send("opportunities.changed", command.opportunity_id, ("OpportunityChanged", record))
        if not outcome.duplicate:
            self.table[command.opportunity_id] = opportunity_to_dict(outcome.state)
        # Also on a duplicate: a crash may have come between the table write and this one.
        await self.save_read_model(outcome.state)
        self.commands_total.labels(kind, "duplicate" if outcome.duplicate else "applied").inc()
        log.info(
            "command_applied",
            duplicate=outcome.duplicate,
            changed=list(outcome.changed),
            stage=outcome.state.stage,
            version=outcome.state.version,
        )

    async def save_read_model(self, state: Opportunity) -> None:
        document = opportunity_to_dict(state)
        await self.store.save(state.opportunity_id, state.owner_id, state.stage, state.version, document)

    async def on_converted(self, value: dict[str, Any], meta: RecordMeta) -> None:
        """Turn a LeadConverted into an open command keyed by the deal (its id derived from the event's)."""
        if not value.get("lead_id"):
            raise InvalidRecord("lead_id: is required")
        record = open_from_conversion(value)
        try:
            command_from_record(record)
        except CommandDecodeError as exc:
            raise InvalidRecord(str(exc)) from exc
        opportunity_id = conversion_opportunity_id(value)
        await self.runtime.send(COMMANDS, opportunity_id, ("OpportunityCommand", record))
        self.runtime.log.info("lead_conversion_forwarded", lead_id=value["lead_id"], opportunity_id=opportunity_id)


def build(runtime: ServiceRuntime, config: OpportunityConfig) -> Opportunities:
    """Wire agents, the alert timer, the HTTP API and health onto the runtime's app."""
    from services.opportunity.http_api import install_http_api
    from services.opportunity.scheduler import install_alert_timer

    service = Opportunities(runtime, config, load_pipelines(Path(config.pipelines_path)))
    runtime.consume(COMMANDS, service.on_command)
    runtime.consume("leads.converted", service.on_converted)
    install_alert_timer(service)
    install_http_api(service)
    install_health(runtime)
    return service


def create(env: dict[str, str] | None = None) -> Opportunities:
    return build(runtime_for("opportunity", PORT, env), OpportunityConfig.from_env(env))
