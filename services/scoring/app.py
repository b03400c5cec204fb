"""scoring's wiring: keep each lead's profile in a table, re-score on every fact or engagement.

Emits leads.scored only when the score changes and leads.qualified once per lead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from services.scoring import domain
from services.scoring.config import PORT, ScoringConfig
from services.scoring.pending import PendingProfiles, Stored
from services.scoring.records import engagement_from, facts_from, lead_qualified, lead_scored, subject_erased
from services.scoring.rules import ScoringRules, load_rules
from shared.dead_letters import RecordMeta
from shared.errors import InvalidRecord
from shared.health import install_health
from shared.records import EngagementEvent, LeadCaptured
from shared.runtime import ServiceRuntime, runtime_for
from shared.tables import JsonTable

# Per-lead serialisation with a fixed number of locks (a lock per lead would grow without bound).
LOCK_STRIPES = 256
Change = tuple[domain.LeadProfile, dict[str, Any]]


class Scoring:
    def __init__(self, runtime: ServiceRuntime, config: ScoringConfig, rules: ScoringRules) -> None:
        self.runtime, self.config, self.rules = runtime, config, rules
        self.profiles = JsonTable(runtime.app, "lead-profiles", runtime.settings.topic_partitions)
        self._locks = [asyncio.Lock() for _ in range(LOCK_STRIPES)]
        self.pending = PendingProfiles()
        self.qualified_total = runtime.metrics.counter("leads_qualified_total", "Leads that crossed the MQL threshold.")

    def _stored(self, lead_id: str) -> Stored:
        """The lead's latest decided profile: a change not yet stored wins over the table."""
        change = self.pending.latest(lead_id)
        return change.value if change is not None else self.profiles.get(lead_id)

    def _load(self, lead_id: str) -> tuple[domain.LeadProfile, dict[str, Any]]:
        stored = self._stored(lead_id)
        if stored is None:
            return domain.new_profile(lead_id, domain.LeadFacts()), {}
        return domain.profile_from_dict(stored["profile"]), stored["context"]

    async def on_captured(self, lead: LeadCaptured, meta: RecordMeta) -> None:
        def change(profile: domain.LeadProfile, context: dict[str, Any]) -> Change:
            captured_at = context.get("captured_at") or lead.captured_at.isoformat()
            context = context | {"company_domain": lead.company_domain, "captured_at": captured_at}
            return domain.update_facts(profile, facts_from(lead)), context

        await self._apply(lead.lead_id, lead.event_id, change)

    async def on_engagement(self, event: EngagementEvent, meta: RecordMeta) -> None:
        if event.lead_id is None:
            raise InvalidRecord("engagement.captured record without lead_id")
        try:
            engagement = engagement_from(event)
        except ValueError as exc:
            raise InvalidRecord(str(exc)) from exc

        def change(profile: domain.LeadProfile, context: dict[str, Any]) -> Change:
            return domain.record_engagement(profile, engagement, max_events=self.config.max_events), context

        await self._apply(event.lead_id, event.event_id, change)

    async def _apply(
        self, lead_id: str, cause_id: str, change: Callable[[domain.LeadProfile, dict[str, Any]], Change]
    ) -> None:
        """Load, change and score a lead's profile, send what the change produces, then hold it.

        The held profile is stored in the table only after the broker acknowledged the outputs, so
        a kill can never leave a stored profile without its outputs: the replayed cause is decided
        afresh and its outputs, with ids derived from it, dedupe downstream. The two agents would
        interleave at the sends' awaits and lose one's update, so each lead is handled under its lock.
        """
        async with self._locks[hash(lead_id) % len(self._locks)]:
            now = datetime.now(UTC)
            profile, context = change(*self._load(lead_id))
            score = domain.score_lead(profile.facts, profile.engagements, self.rules, now)
            decision = domain.decide_emission(profile, score, self.rules.mql_threshold)
            await self._send(profile, context, score, decision, cause_id, now)
            profile = domain.apply_score(profile, score, decision)
            self._hold(lead_id, {"profile": domain.profile_to_dict(profile), "context": context})
        self.runtime.log.info(
            "lead_scored",
            lead_id=lead_id,
            score=score.score,
            grade=score.grade,
            emitted=decision.emit_scored,
            qualified=decision.emit_qualified,
        )

    async def _send(
        self,
        profile: domain.LeadProfile,
        context: dict[str, Any],
        score: domain.Score,
        decision: domain.ScoringDecision,
        cause_id: str,
        now: datetime,
    ) -> None:
        captured_at = datetime.fromisoformat(context["captured_at"]) if context.get("captured_at") else None
        lead_id, email = profile.lead_id, profile.facts.email or ""
        if decision.emit_scored:
            scored = lead_scored(lead_id, cause_id, email, score, now, captured_at)
            await self.runtime.send("leads.scored", lead_id, scored)
        if decision.emit_qualified:
            record = lead_qualified(lead_id, context, profile.facts, score, self.rules.mql_threshold, now, captured_at)
            await self.runtime.send("leads.qualified", lead_id, record)
            self.qualified_total.inc()

    def _hold(self, lead_id: str, value: Stored) -> None:
        change = self.pending.hold(lead_id, value)
        self.runtime.after_outputs(lambda: self.pending.store(change, self._write))

    def _write(self, lead_id: str, value: Stored) -> None:
        if value is not None:
            self.profiles[lead_id] = value
        elif self.profiles.get(lead_id) is not None:
            del self.profiles[lead_id]  # the table's delete writes a tombstone to the changelog

    async def on_erasure(self, request: dict[str, Any], meta: RecordMeta) -> None:
        """Forget the lead's profile (held like any change, so no earlier change is stored after it)."""
        lead_id = request["lead_id"]
        removed = []
        async with self._locks[hash(lead_id) % len(self._locks)]:
            if self._stored(lead_id) is not None:
                removed.append("table:lead-profiles")
            self._hold(lead_id, None)
        await self.runtime.send("subjects.erased", lead_id, subject_erased(request, removed, datetime.now(UTC)))
        self.runtime.log.info("subject_erased", lead_id=lead_id, removed=removed)


def build(runtime: ServiceRuntime, config: ScoringConfig) -> Scoring:
    scoring = Scoring(runtime, config, load_rules(config.rules_path))
    runtime.consume("subjects.erasure_requested", scoring.on_erasure)
    runtime.consume("leads.captured", scoring.on_captured, LeadCaptured)
    runtime.consume("engagement.captured", scoring.on_engagement, EngagementEvent)
    install_health(runtime)
    return scoring


def create(env: dict[str, str] | None = None) -> Scoring:
    return build(runtime_for("scoring", PORT, env), ScoringConfig.from_env(env))
