"""ingest's wiring: the Kafka agents and the capture path shared with the HTTP API.

Decode -> validate -> claim the event_id in Redis -> produce -> confirm the claim.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.ingest.capture import captured_engagement, captured_lead
from services.ingest.config import PORT, IngestConfig
from services.ingest.identity import IdentityStore, LeadClaim
from services.ingest.validation import ValidationFailed, validate_engagement, validate_lead
from shared.dead_letters import RecordMeta
from shared.errors import InvalidRecord
from shared.health import install_health
from shared.http_api import HttpApi
from shared.runtime import ServiceRuntime, runtime_for


class ErasedSubject(Exception):
    """The email belongs to an erased person and the submission carries no fresh consent."""


@dataclass(frozen=True)
class Outcome:
    lead_id: str
    duplicate: bool


class Ingest:
    """The capture path; HTTP views and Kafka agents both call it."""

    def __init__(self, runtime: ServiceRuntime, config: IngestConfig) -> None:
        self.runtime = runtime
        self.config = config
        self.identity = IdentityStore(runtime.redis, runtime.redis_key(), runtime.metrics, config.dedupe_ttl_seconds)
        metrics = runtime.metrics
        self.http = HttpApi(metrics, config.api_keys)
        self.leads_total = metrics.counter("leads_total", "Leads captured.", ("source",))
        self.rejected_total = metrics.counter("rejected_total", "Submissions rejected.", ("reason",))
        self.duplicates_total = metrics.counter("duplicates_total", "Re-sent event_ids answered from the dedupe keys.")

    async def capture_lead(self, lead: dict[str, Any], *, wait: bool) -> Outcome:
        """Capture a validated lead once per event_id; a duplicate returns the first lead_id.

        An erased person comes back only with fresh marketing consent (as a new lead).
        """
        (outcome,) = await self.capture_leads([lead], wait=wait)
        return outcome

    async def capture_leads(self, leads: Sequence[dict[str, Any]], *, wait: bool) -> list[Outcome]:
        """`capture_lead` for a batch: one Redis round trip claims all, then all are sent together.

        If any lead is an erased person without consent, none is captured (ErasedSubject).
        """
        claims = await self.identity.claim_many(
            [LeadClaim(x["event_id"], x["email"], x["marketing_consent"]) for x in leads]
        )
        fresh = [
            (lead, claim) for lead, claim in zip(leads, claims, strict=True) if not (claim.duplicate or claim.erased)
        ]
        if any(claim.erased for claim in claims):
            await self.identity.release(*(lead["event_id"] for lead, _ in fresh))
            self.rejected_total.labels("erased_subject").inc()
            raise ErasedSubject("this person was erased; resubmit with marketing_consent to bring them back")
        now = datetime.now(UTC)
        sends = [
            (lead["event_id"], c.lead_id, ("LeadCaptured", captured_lead(lead, c.lead_id, c.new_lead, now)))
            for lead, c in fresh
        ]
        await self._send_claimed("leads.captured", sends, wait)
        self.duplicates_total.inc(len(leads) - len(fresh))
        for lead, claim in fresh:
            self.leads_total.labels(lead["source"]).inc()
            self.runtime.log.info(
                "lead_captured", lead_id=claim.lead_id, source=lead["source"], new_lead=claim.new_lead
            )
        return [Outcome(claim.lead_id, claim.duplicate) for claim in claims]

    async def capture_engagement(self, engagement: dict[str, Any], *, wait: bool) -> Outcome:
        """Capture an engagement event once per event_id, resolving its lead from the email."""
        lead_id = engagement["lead_id"]
        if lead_id is None:
            if await self.identity.erased(engagement["email"]):
                self.rejected_total.labels("erased_subject").inc()
                raise ErasedSubject("engagement for an erased person")
            lead_id, _created = await self.identity.resolve(engagement["email"])
        claim = await self.identity.claim_event(engagement["event_id"], lead_id)
        if claim.duplicate:
            self.duplicates_total.inc()
            return Outcome(claim.lead_id, True)
        record = ("EngagementEvent", captured_engagement(engagement, lead_id))
        await self._send_claimed("engagement.captured", [(engagement["event_id"], lead_id, record)], wait)
        self.runtime.log.info("engagement_captured", lead_id=lead_id, engagement_type=engagement["type"])
        return Outcome(lead_id, False)

    async def _send_claimed(self, topic: str, sends: Sequence[tuple[str, str, Any]], wait: bool) -> None:
        """Send each (event_id, lead_id, record); confirm the claims that were sent, release the rest."""
        try:
            failures = await self.runtime.send_many(
                topic, [(lead_id, record) for _, lead_id, record in sends], wait=wait
            )
        except BaseException:
            await self.identity.release(*(event_id for event_id, _, _ in sends))
            raise
        outcomes = list(zip(sends, failures, strict=True))
        if sent := [(event_id, lead_id) for (event_id, lead_id, _), failure in outcomes if failure is None]:
            await self.identity.confirm_many(sent)
        if errors := [(event_id, failure) for (event_id, _, _), failure in outcomes if failure is not None]:
            await self.identity.release(*(event_id for event_id, _ in errors))
            raise errors[0][1]

    def reject(self, error: ValidationFailed) -> None:
        for field_error in error.errors:
            self.rejected_total.labels(field_error.field).inc()


def build(runtime: ServiceRuntime, config: IngestConfig) -> Ingest:
    """Wire agents, HTTP API and health onto the runtime's app."""
    from services.ingest.http_api import install_http_api

    ingest = Ingest(runtime, config)

    from services.ingest.erasure import install_erasure

    async def on_lead(value: dict[str, Any], meta: RecordMeta) -> None:
        with suppress_erased(ingest):
            await ingest.capture_lead(_validated(ingest, validate_lead, value), wait=False)

    async def on_engagement(value: dict[str, Any], meta: RecordMeta) -> None:
        with suppress_erased(ingest):
            await ingest.capture_engagement(_validated(ingest, validate_engagement, value), wait=False)

    runtime.consume("leads.inbound", on_lead)
    runtime.consume("engagement.inbound", on_engagement)
    install_http_api(ingest)
    install_erasure(ingest)
    install_health(runtime)
    return ingest


@contextlib.contextmanager
def suppress_erased(ingest: Ingest) -> Iterator[None]:
    """On Kafka, a record for an erased person is dropped on purpose: counted and logged, not
    dead-lettered (the DLQ would keep the very data that was erased)."""
    try:
        yield
    except ErasedSubject:
        ingest.runtime.log.info("erased_subject_refused")


def _validated(ingest: Ingest, validate: Any, value: dict[str, Any]) -> dict[str, Any]:
    try:
        result: dict[str, Any] = validate(value, now=datetime.now(UTC))
    except ValidationFailed as exc:
        ingest.reject(exc)
        raise InvalidRecord(str(exc)) from exc
    return result


def create(env: dict[str, str] | None = None) -> Ingest:
    # No tables: ingest's producer may batch even on the local broker.
    runtime = runtime_for("ingest", PORT, env, writes_changelogs=False)
    return build(runtime, IngestConfig.from_env(env))
