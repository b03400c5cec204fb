"""analytics' wiring: fold every lead and deal record into its per-entity table and its
partition's totals; a deal's lead steps travel to the lead's partition over an internal topic.
"""

from __future__ import annotations

import json
from typing import Any

import faust

from services.analytics.collector import TotalsCollector
from services.analytics.config import PORT, AnalyticsConfig
from services.analytics.deals import deal_record_from_dict, deal_record_to_dict, fold_deal
from services.analytics.http_api import install_http_api
from services.analytics.inputs import DEAL_INPUTS, LEAD_INPUTS, DealInput, LeadInput
from services.analytics.leads import fold_lead, lead_from_dict, lead_to_dict
from services.analytics.links import (
    DealLink,
    fact_from_dict,
    fact_to_dict,
    lead_facts,
    link_from_dict,
    link_lead,
    link_step,
    link_to_dict,
)
from services.analytics.mailings import Mailbox, mailbox_from_dict, mailbox_to_dict, nurture_facts
from services.analytics.partitions import TotalsTable
from services.analytics.publisher import install_publisher
from services.analytics.store import ReadModel
from services.analytics.totals import PartitionTotals, apply_deal, apply_lead, apply_nurture, new_totals
from shared.dead_letters import RecordMeta
from shared.errors import InvalidRecord
from shared.health import install_health
from shared.runtime import ServiceRuntime, runtime_for
from shared.tables import JsonTable
from shared.topics import physical_name

RELAY = "salesflow-analytics-lead-steps"


class Analytics:
    def __init__(self, runtime: ServiceRuntime, config: AnalyticsConfig) -> None:
        self.runtime, self.config = runtime, config
        partitions = runtime.settings.topic_partitions
        self.leads = JsonTable(runtime.app, "leads", partitions)
        self.deals = JsonTable(runtime.app, "deals", partitions)
        self.totals = TotalsTable(runtime.app, partitions, self.empty_totals)
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
        self.fold_lead_input(item, meta.partition)

    def fold_lead_input(self, item: LeadInput, partition: int) -> None:
        """Fold one lead input into the lead's record and the partition's totals (no await inside:
        the read-modify-write of the shared totals must not interleave with another agent)."""
        stored: dict[str, Any] = self.leads.get(item.lead_id) or {}
        record = lead_from_dict(stored["record"]) if stored.get("record") else None
        mailbox = mailbox_from_dict(stored["mailbox"]) if stored.get("mailbox") else Mailbox()
        before = totals = self.totals.load(partition)
        for fact in item.facts:
            folded = fold_lead(record, fact)
            totals, record = apply_lead(totals, record, folded, fact.occurred_at, self.config.sla), folded
        mailbox, outcomes = nurture_facts(mailbox, item)
        for outcome in outcomes:
            totals = apply_nurture(totals, outcome)
        self.leads[item.lead_id] = {
            "record": None if record is None else lead_to_dict(record),
            "mailbox": mailbox_to_dict(mailbox),
        }
        self.totals.save(partition, before, totals)
        self.folded.labels("lead").inc(len(item.facts) + len(outcomes))
        self.runtime.log.info("lead_facts_folded", lead_id=item.lead_id, facts=len(item.facts), nurture=len(outcomes))

    async def on_deal_record(self, record: dict[str, Any], meta: RecordMeta) -> None:
        try:
            item = DEAL_INPUTS[meta.topic](record)
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidRecord(f"{meta.topic}: {exc}") from exc
        link = self.fold_deal_input(item, meta.partition)
        for fact in lead_facts(link):
            await self.relay.send(key=fact.lead_id.encode(), value=json.dumps(fact_to_dict(fact)).encode())

    def fold_deal_input(self, item: DealInput, partition: int) -> DealLink:
        """Fold one deal input into the deal's record and the partition's totals; returns the
        deal's link to its lead (re-sent on every change: the lead fold is idempotent)."""
        stored: dict[str, Any] = self.deals.get(item.opportunity_id) or {}
        record = deal_record_from_dict(stored["record"]) if stored.get("record") else None
        link = link_from_dict(stored["link"]) if stored.get("link") else DealLink(item.opportunity_id)
        before = totals = self.totals.load(partition)
        if item.snapshot is not None:
            folded = fold_deal(record, item.snapshot)
            totals, record = apply_deal(totals, record, folded), folded
        link = _linked(link_lead(link, item.lead_id), item)
        self.deals[item.opportunity_id] = {
            "record": None if record is None else deal_record_to_dict(record),
            "link": link_to_dict(link),
        }
        self.totals.save(partition, before, totals)
        self.folded.labels("deal").inc()
        self.runtime.log.info("deal_folded", opportunity_id=item.opportunity_id, proposal=item.proposal)
        return link

    async def on_relayed(self, stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            fact = fact_from_dict(json.loads(event.value))
            item = LeadInput(fact.lead_id, fact.event_id, fact.occurred_at, (fact,))
            self.fold_lead_input(item, event.message.partition)

    async def on_roster(self, record: dict[str, Any], meta: RecordMeta) -> None:
        capacity = int(record["capacity"]) if record.get("active", True) else None
        await self.read_model.set_capacity(str(record["rep_id"]), capacity)


def _linked(link: DealLink, item: DealInput) -> DealLink:
    if item.proposal:
        link = link_step(link, "proposal", item.occurred_at)
    if item.created_at is not None:
        link = link_step(link, "opportunity", item.created_at)
    snapshot = item.snapshot
    if snapshot is not None and snapshot.status != "open":
        link = link_step(link, snapshot.status, item.closed_at or item.occurred_at)
    return link


def build(runtime: ServiceRuntime, config: AnalyticsConfig) -> Analytics:
    analytics = Analytics(runtime, config)
    for topic in LEAD_INPUTS:
        runtime.consume(topic, analytics.on_lead_record)
    for topic in DEAL_INPUTS:
        runtime.consume(topic, analytics.on_deal_record)
    runtime.consume("reps.roster", analytics.on_roster)
    runtime.app.agent(analytics.relay, name="analytics.lead-steps")(analytics.on_relayed)
    install_publisher(analytics)
    runtime.metrics.registry.register(TotalsCollector(analytics.totals))
    install_http_api(analytics)
    install_health(runtime)
    return analytics


def create(env: dict[str, str] | None = None) -> Analytics:
    return build(runtime_for("analytics", PORT, env), AnalyticsConfig.from_env(env))
