"""analytics' wiring: fold every lead and deal record into its entity's table value (one write
per record) and its partition's totals in memory; a deal's lead steps travel to the lead's
partition over an internal topic.
"""

from __future__ import annotations

import json
from typing import Any

import faust

from services.analytics.collector import TotalsCollector
from services.analytics.config import PORT, AnalyticsConfig
from services.analytics.deal_inputs import DEAL_INPUTS
from services.analytics.entities import (
    DealState,
    LeadState,
    deal_state_from_dict,
    deal_state_to_dict,
    fold_deal_input,
    fold_lead_input,
    lead_state_from_dict,
    lead_state_to_dict,
)
from services.analytics.http_api import install_http_api
from services.analytics.inputs import LEAD_INPUTS, LeadInput
from services.analytics.links import DealLink, fact_from_dict, fact_to_dict, lead_facts
from services.analytics.partitions import TotalsCache
from services.analytics.publisher import install_publisher
from services.analytics.store import ReadModel
from services.analytics.totals import PartitionTotals, new_totals
from shared.dead_letters import RecordMeta
from shared.errors import InvalidRecord
from shared.health import install_health
from shared.runtime import ServiceRuntime, runtime_for
from shared.tables import JsonTable, tables_ready
from shared.topics import physical_name

RELAY = "salesflow-analytics-lead-steps"


class Analytics:
    def __init__(self, runtime: ServiceRuntime, config: AnalyticsConfig) -> None:
        self.runtime, self.config = runtime, config
        partitions = runtime.settings.topic_partitions
        self.leads = JsonTable(runtime.app, "leads", partitions)
        self.deals = JsonTable(runtime.app, "deals", partitions)
        self.totals = TotalsCache(
            self.leads, self.deals, self.empty_totals, config.sla, lambda: tables_ready(runtime.app), partitions
        )
        self.read_model = ReadModel(runtime, partitions)
        # Internal: deal-derived lead steps, re-keyed by lead_id onto the lead's partition.
        self.relay = runtime.app.topic(
            physical_name(RELAY, runtime.settings.topic_prefix), partitions=partitions, internal=True
        )
        self.folded = runtime.metrics.counter("facts_folded_total", "Facts folded into the tables.", ("kind",))

    def empty_totals(self) -> PartitionTotals:
        return new_totals(self.config.grace, self.config.hour_windows, self.config.day_windows)

    async def on_lead_record(self, record: dict[str, Any], meta: RecordMeta) -> None:
        try:
            item = LEAD_INPUTS[meta.topic](record)
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidRecord(f"{meta.topic}: {exc}") from exc
        self.fold_lead(item, meta.partition)

    def fold_lead(self, item: LeadInput, partition: int) -> None:
        """Fold one lead input: one table write holds its whole effect (no await inside, so the
        read-modify-write of the partition's totals never interleaves with another agent)."""
        stored = self.leads.get(item.lead_id)
        state = LeadState(partition) if stored is None else lead_state_from_dict(stored, partition)
        before = self.totals.load(state.partition)
        state, after = fold_lead_input(state, before, item, self.config.sla)
        self.leads[item.lead_id] = lead_state_to_dict(state)
        self.totals.save(state.partition, before, after)
        self.folded.labels("lead").inc(len(item.facts))
        self.runtime.log.info("lead_facts_folded", lead_id=item.lead_id, facts=len(item.facts))

    async def on_deal_record(self, record: dict[str, Any], meta: RecordMeta) -> None:
        try:
            item = DEAL_INPUTS[meta.topic](record)
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidRecord(f"{meta.topic}: {exc}") from exc
        stored = self.deals.get(item.opportunity_id)
        state = (
            DealState(meta.partition, DealLink(item.opportunity_id))
            if stored is None
            else deal_state_from_dict(stored, meta.partition)
        )
        before = self.totals.load(state.partition)
        state, after = fold_deal_input(state, before, item)
        self.deals[item.opportunity_id] = deal_state_to_dict(state)
        self.totals.save(state.partition, before, after)
        self.folded.labels("deal").inc()
        self.runtime.log.info("deal_folded", opportunity_id=item.opportunity_id, proposal=item.proposal)
        # The link is re-sent on every change: the lead fold is idempotent.
        for fact in lead_facts(state.link):
            await self.relay.send(key=fact.lead_id.encode(), value=json.dumps(fact_to_dict(fact)).encode())

    async def on_relayed(self, stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            fact = fact_from_dict(json.loads(event.value))
            item = LeadInput(fact.lead_id, fact.event_id, fact.occurred_at, (fact,))
            self.fold_lead(item, event.message.partition)

    async def on_roster(self, record: dict[str, Any], meta: RecordMeta) -> None:
        capacity = int(record["capacity"]) if record.get("active", True) else None
        await self.read_model.set_capacity(str(record["rep_id"]), capacity)


def build(runtime: ServiceRuntime, config: AnalyticsConfig) -> Analytics:
    analytics = Analytics(runtime, config)
    for topic in LEAD_INPUTS:
        runtime.consume(topic, analytics.on_lead_record)
    for topic in DEAL_INPUTS:
        runtime.consume(topic, analytics.on_deal_record)
    runtime.consume("reps.roster", analytics.on_roster)
    runtime.app.agent(analytics.relay, name="analytics.lead-steps")(analytics.on_relayed)
    install_publisher(analytics)
    runtime.metrics.registry.register(TotalsCollector(analytics.totals, config.metric_label_limit))
    install_http_api(analytics)
    install_health(runtime)
    return analytics


def create(env: dict[str, str] | None = None) -> Analytics:
    return build(runtime_for("analytics", PORT, env), AnalyticsConfig.from_env(env))
