"""The alert timer: scans this worker's partitions of the deals table and raises due alerts.

It never writes the table (only the command agent may): it sends each alert once, guarded by a
Redis claim, and a mark_alerted command that makes the deal's state remember it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from services.opportunity.alerts import Alert, check_alerts
from services.opportunity.records import alert_record, mark_alerted_record
from services.opportunity.serialization import opportunity_from_dict
from services.opportunity.state import Opportunity
from shared.tables import tables_ready

if TYPE_CHECKING:
    from services.opportunity.app import Opportunities

_PAGE = 200  # deals decoded per page of the alert walk, between yields to the command agent


def install_alert_timer(service: Opportunities) -> None:
    app = service.runtime.app
    raised_total = service.runtime.metrics.counter("alerts_total", "Alerts raised.", ("kind",))

    async def raise_alerts(state: Opportunity, alerts: tuple[Alert, ...], now: datetime) -> None:
        for alert in alerts:
            if not await service.store.claim_alert(state.opportunity_id, alert.key):
                continue  # an earlier tick sent it; its mark command is on its way
            try:
                await service.runtime.send(
                    "opportunities.alerts",
                    state.opportunity_id,
                    ("OpportunityAlert", alert_record(alert, state)),
                    wait=True,
                )
            except BaseException:
                await service.store.release_alert(state.opportunity_id, alert.key)
                raise
            raised_total.labels(alert.kind.value).inc()
            service.runtime.log.info(
                "alert_raised", opportunity_id=state.opportunity_id, kind=alert.kind.value, alert_key=alert.key
            )
        # Sent again while unapplied (same command id, so applied once): the state must learn it.
        mark = mark_alerted_record(state.opportunity_id, alerts, now)
        await service.runtime.send("opportunities.commands", state.opportunity_id, ("OpportunityCommand", mark))

    async def check_deal_alerts() -> None:
        """Every interval: alerts for the deals on this worker's partitions (none while rebalancing).

        The table is read a page at a time, the alerts of each page raised before the next is read,
        so a large table neither stalls the command agent nor is held decoded at once. A rebalance
        mid-walk ends it; the next interval walks the new assignment.
        """
        now = datetime.now(UTC)
        for page in service.table.pages(_PAGE):
            if not tables_ready(app):
                return
            for state, alerts in due_alerts((opportunity_from_dict(stored) for _, stored in page), now):
                await raise_alerts(state, alerts, now)
            await asyncio.sleep(0)  # the command agent runs between pages, alerts raised or not

    def due_alerts(states: Iterable[Opportunity], now: datetime) -> list[tuple[Opportunity, tuple[Alert, ...]]]:
        due = []
        for state in states:
            pipeline = service.pipelines.get(state.pipeline)
            alerts = () if pipeline is None else check_alerts(state, pipeline, now)
            if alerts:
                due.append((state, alerts))
        return due

    app.timer(service.config.alert_interval_seconds)(check_deal_alerts)
