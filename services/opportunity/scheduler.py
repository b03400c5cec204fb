"""The alert timer: scans this worker's partitions of the deals table and raises due alerts.

It never writes the table (only the command agent may): it sends each alert once, guarded by a
Redis claim, and a mark_alerted command that makes the deal's state remember it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from services.opportunity.alerts import Alert, check_alerts
from services.opportunity.records import alert_record, mark_alerted_record
from services.opportunity.serialization import opportunity_from_dict
from services.opportunity.state import Opportunity

if TYPE_CHECKING:
    from services.opportunity.app import Opportunities


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
        """Every interval: alerts for the deals on this worker's partitions (none while rebalancing)."""
        # TableManagerT does not declare the recovery its implementation has.
        tables: Any = app.tables
        recovered = tables.recovery.completed.is_set() if tables else False
        if app.rebalancing or not recovered:
            return
        now = datetime.now(UTC)
        # The table is walked with no await (a rebalance must not close a partition under the
        # iterator) and only the deals that alert are kept, not every decoded deal.
        due = []
        for _, stored in service.table.items():
            state = opportunity_from_dict(stored)
            pipeline = service.pipelines.get(state.pipeline)
            alerts = () if pipeline is None else check_alerts(state, pipeline, now)
            if alerts:
                due.append((state, alerts))
        for state, alerts in due:
            await raise_alerts(state, alerts, now)

    app.timer(service.config.alert_interval_seconds)(check_deal_alerts)
