"""routing's wiring: qualified lead -> policy plan -> atomic round robin in Redis -> leads.assigned.

Redelivered leads get their first assignment back (the pick is remembered per lead in Redis).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.routing.config import PORT, RoutingConfig
from services.routing.domain import Assignment, route_leads
from services.routing.eligibility import LeadToRoute
from services.routing.explain import describe_assignment
from services.routing.policy import RoutingPolicy, load_policy
from services.routing.roster import RosterError
from services.routing.roster_store import RosterStore
from services.routing.store import RedisRepLoadStore
from shared.dead_letters import RecordMeta
from shared.errors import InvalidRecord
from shared.health import install_health
from shared.metrics import AGE_BUCKETS
from shared.records import LeadAssigned, LeadQualified, RoutingCandidate, from_avro
from shared.redis_client import timed
from shared.runtime import ServiceRuntime, runtime_for


def lead_to_route(lead: LeadQualified) -> LeadToRoute:
    return LeadToRoute(
        lead.lead_id,
        lead.email,
        lead.company_domain,
        lead.country,
        lead.region,
        lead.product_interest,
        lead.employees,
        lead.grade,
        float(lead.score),
    )


def lead_assigned(lead: LeadQualified, assignment: Assignment, now: datetime) -> LeadAssigned:
    """The assignment event; its id derives from the qualification's, so a replay dedupes."""
    return LeadAssigned(
        event_id=f"{lead.event_id}:assigned",
        lead_id=lead.lead_id,
        email=lead.email,
        occurred_at=now,
        rule=assignment.rule_name,
        reason=describe_assignment(assignment),
        sla_due_at=assignment.sla_due_at,
        rep_id=assignment.rep_id,
        queue=assignment.queue,
        grade=lead.grade,
        captured_at=lead.captured_at,
        candidates=tuple(RoutingCandidate(c.rep_id, c.outcome, c.reason) for c in assignment.candidates),
    )


class Routing:
    def __init__(self, runtime: ServiceRuntime, config: RoutingConfig, policy: RoutingPolicy) -> None:
        self.runtime, self.policy = runtime, policy
        self.roster = RosterStore(
            runtime.redis, runtime.redis_key("roster"), runtime.metrics, config.roster_cache_seconds
        )
        self.loads = RedisRepLoadStore(runtime.redis, prefix=runtime.redis_key("load"))
        metrics = runtime.metrics
        self.assignments = metrics.counter("assignments_total", "Leads assigned, by rule.", ("rule",))
        self.fallbacks = metrics.counter("fallback_total", "Leads sent to the fallback queue.")
        self.latency = metrics.histogram(
            "capture_to_assignment_seconds",
            "From ingest's capture to the assignment (speed to lead).",
            buckets=AGE_BUCKETS,
        )

    async def on_rep(self, value: dict[str, Any], meta: RecordMeta) -> None:
        try:
            rep = await self.roster.upsert(value)
        except RosterError as exc:
            raise InvalidRecord(str(exc)) from exc
        self.runtime.log.info("rep_upserted", rep_id=rep.rep_id, active=rep.active, capacity=rep.capacity)

    async def on_qualified(self, batch: list[tuple[dict[str, Any], RecordMeta]]) -> list[InvalidRecord | None]:
        """Route a fetched batch of qualified leads in order; its Redis steps are a round trip each
        for the batch (domain.route_leads), not for every lead."""
        now = datetime.now(UTC)
        leads = [from_avro(LeadQualified, value) for value, _ in batch]
        reps = await self.roster.reps()
        routed = route_leads([lead_to_route(lead) for lead in leads], reps, self.policy, self.loads, now)
        pairs = list(zip(leads, await timed(self.runtime.metrics, routed), strict=True))
        await self.runtime.send_many(
            "leads.assigned", [(lead.lead_id, lead_assigned(lead, a, now)) for lead, a in pairs]
        )
        for lead, assignment in pairs:
            self._count(lead, assignment, now)
        return [None] * len(batch)

    def _count(self, lead: LeadQualified, assignment: Assignment, now: datetime) -> None:
        self.assignments.labels(assignment.rule_name).inc()
        if assignment.queue:
            self.fallbacks.inc()
        if lead.captured_at:
            self.latency.observe(max(0.0, (now - lead.captured_at).total_seconds()))
        self.runtime.log.info(
            "lead_assigned",
            lead_id=lead.lead_id,
            rep_id=assignment.rep_id,
            queue=assignment.queue,
            rule=assignment.rule_name,
        )


def build(runtime: ServiceRuntime, config: RoutingConfig) -> Routing:
    routing = Routing(runtime, config, load_policy(config.policy_path))
    runtime.consume("reps.roster", routing.on_rep)
    runtime.consume_batches("leads.qualified", routing.on_qualified)
    install_health(runtime)
    return routing


def create(env: dict[str, str] | None = None) -> Routing:
    # Routing keeps its state in Redis, not in tables: its producer may batch on the local broker.
    return build(runtime_for("routing", PORT, env), RoutingConfig.from_env(env))
