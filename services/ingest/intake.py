"""ingest's capture path, shared by the HTTP API and the Kafka agents: claim the event_id in Redis
-> seal the person fields with the lead's key -> produce -> confirm the claim (release it on failure).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.ingest.capture import captured_engagement, captured_lead
from services.ingest.config import IngestConfig
from services.ingest.identity import Claim, EngagementClaim, IdentityStore, LeadClaim
from services.ingest.validation import ValidationFailed
from shared.http_api import HttpApi
from shared.pii import SubjectErased
from shared.pii_keys import PiiVault
from shared.runtime import ServiceRuntime


class ErasedSubject(Exception):
    """The email belongs to an erased person and the submission carries no fresh consent."""


@dataclass(frozen=True)
class Outcome:
    """A captured submission's answer: its lead, and whether its event_id had been seen before."""

    lead_id: str
    duplicate: bool


@dataclass(frozen=True)
class Kind:
    """What differs between capturing leads and engagement events."""

    noun: str
    topic: str
    record: str
    claim: Callable[[IdentityStore, Sequence[dict[str, Any]]], Awaitable[list[Claim]]]
    captured: Callable[[dict[str, Any], Claim, datetime], dict[str, Any]]
    detail: Callable[[dict[str, Any], Claim], dict[str, Any]]
    erased_refusal: str


LEADS = Kind(
    noun="lead",
    topic="leads.captured",
    record="LeadCaptured",
    claim=lambda identity, leads: identity.claim_many(
        [LeadClaim(x["event_id"], x["email"], x["marketing_consent"]) for x in leads]
    ),
    captured=lambda lead, claim, now: captured_lead(lead, claim.lead_id, claim.new_lead, now),
    detail=lambda lead, claim: {"source": lead["source"], "new_lead": claim.new_lead},
    erased_refusal="this person was erased; resubmit with marketing_consent to bring them back",
)
ENGAGEMENTS = Kind(
    noun="engagement",
    topic="engagement.captured",
    record="EngagementEvent",
    claim=lambda identity, events: identity.claim_engagements(
        [EngagementClaim(x["event_id"], x["lead_id"], x["email"]) for x in events]
    ),
    captured=lambda engagement, claim, _: captured_engagement(engagement, claim.lead_id),
    detail=lambda engagement, _: {"engagement_type": engagement["type"]},
    erased_refusal="engagement for an erased person",
)


def _fresh(claim: Claim) -> bool:
    return not (claim.duplicate or claim.erased)


class Ingest:
    """The capture path; HTTP views and Kafka agents both call it."""

    def __init__(self, runtime: ServiceRuntime, config: IngestConfig) -> None:
        self.runtime = runtime
        self.config = config
        self.identity = IdentityStore(runtime.redis, runtime.redis_key(), runtime.metrics, config.dedupe_ttl_seconds)
        # Person fields leave ingest sealed with the lead's key; erasure shreds the key (crypto-shredding).
        self.pii = PiiVault.create(runtime.redis, runtime.settings.redis_prefix, runtime.metrics, runtime.settings.pii)
        metrics = runtime.metrics
        self.http = HttpApi(metrics, config.api_keys)
        self.leads_total = metrics.counter("leads_total", "Leads captured.", ("source",))
        self.rejected_total = metrics.counter("rejected_total", "Submissions rejected.", ("reason",))
        self.duplicates_total = metrics.counter("duplicates_total", "Re-sent event_ids answered from the dedupe keys.")

    async def capture_leads(self, leads: Sequence[dict[str, Any]], *, wait: bool) -> list[Outcome]:
        """Capture validated leads, each once per event_id: one Redis round trip claims all, then all
        are sent together. A duplicate answers with the first lead_id.

        All or none (HTTP): if any lead is an erased person without fresh marketing consent, none is
        captured (ErasedSubject). With consent an erased person comes back as a new lead.
        """
        return await self._all_or_none(LEADS, leads, wait)

    async def capture_engagements(self, engagements: Sequence[dict[str, Any]], *, wait: bool) -> list[Outcome]:
        """`capture_leads` for engagement events, each resolving its lead from its email when it
        names no lead_id. An engagement of an erased person refuses the batch."""
        return await self._all_or_none(ENGAGEMENTS, engagements, wait)

    async def capture_lead_records(self, leads: Sequence[dict[str, Any]]) -> list[Outcome | None]:
        """Kafka: a consumed batch of leads, each captured as if alone; an erased person's lead is
        dropped on purpose (None), counted and logged, not dead-lettered (the dead-letter topic would
        keep the very data that was erased). Outputs are not awaited: the consume loop waits for them.
        """
        return await self._each_alone(LEADS, leads)

    async def capture_engagement_records(self, engagements: Sequence[dict[str, Any]]) -> list[Outcome | None]:
        """`capture_lead_records` for consumed engagement events."""
        return await self._each_alone(ENGAGEMENTS, engagements)

    async def _all_or_none(self, kind: Kind, items: Sequence[dict[str, Any]], wait: bool) -> list[Outcome]:
        claims = await kind.claim(self.identity, items)
        if any(claim.erased for claim in claims):
            await self.identity.release(
                *(item["event_id"] for item, claim in zip(items, claims, strict=True) if _fresh(claim))
            )
            self._refused_erased(1)
            raise ErasedSubject(kind.erased_refusal)
        try:
            await self._capture(kind, items, claims, wait)
        except ErasedSubject:
            self._refused_erased(1)
            raise
        return [Outcome(claim.lead_id, claim.duplicate) for claim in claims]

    async def _each_alone(self, kind: Kind, items: Sequence[dict[str, Any]]) -> list[Outcome | None]:
        if not items:  # every record of the batch failed validation
            return []
        claims = await kind.claim(self.identity, items)
        self._refused_erased(sum(claim.erased for claim in claims))
        try:
            await self._capture(kind, items, claims, wait=False)
        except ErasedSubject:
            # A lead's key was shredded between its claim and its sealing (an erasure racing the
            # batch): the batch's claims are released. One at a time, only that record is dropped.
            if len(items) == 1:
                self._refused_erased(1)
                return [None]
            return [outcome for item in items for outcome in await self._each_alone(kind, [item])]
        return [None if claim.erased else Outcome(claim.lead_id, claim.duplicate) for claim in claims]

    def _refused_erased(self, count: int) -> None:
        """`count` submissions refused because their person was erased (a refused HTTP request counts one)."""
        if count:
            self.rejected_total.labels("erased_subject").inc(count)
            self.runtime.log.info("erased_subject_refused", count=count)

    async def _capture(self, kind: Kind, items: Sequence[dict[str, Any]], claims: Sequence[Claim], wait: bool) -> None:
        """Seal, send and confirm the items whose claims are fresh (neither duplicate nor erased)."""
        fresh = [(item, claim) for item, claim in zip(items, claims, strict=True) if _fresh(claim)]
        self.duplicates_total.inc(sum(claim.duplicate for claim in claims))
        if not fresh:
            return
        now = datetime.now(UTC)
        event_ids = [item["event_id"] for item, _ in fresh]
        sealed = await self._sealed(
            [(claim.lead_id, kind.captured(item, claim, now)) for item, claim in fresh], event_ids
        )
        sends = [
            (event_id, claim.lead_id, (kind.record, value))
            for event_id, (_, claim), value in zip(event_ids, fresh, sealed, strict=True)
        ]
        await self._send_claimed(kind.topic, sends, wait)
        if kind is LEADS:
            for source, count in Counter(item["source"] for item, _ in fresh).items():
                self.leads_total.labels(source).inc(count)
        self._log_captured(kind, fresh)

    def _log_captured(self, kind: Kind, fresh: Sequence[tuple[dict[str, Any], Claim]]) -> None:
        """One line per record alone, one line per batch: a line costs ~30 µs, a third of a batch's
        Redis work when written per record. The batch line still names every lead_id."""
        if len(fresh) == 1:
            ((item, claim),) = fresh
            self.runtime.log.info(f"{kind.noun}_captured", lead_id=claim.lead_id, **kind.detail(item, claim))
        else:
            self.runtime.log.info(
                f"{kind.noun}s_captured", lead_ids=[claim.lead_id for _, claim in fresh], count=len(fresh)
            )

    async def _sealed(self, records: list[tuple[str, dict[str, Any]]], event_ids: list[str]) -> list[dict[str, Any]]:
        """The records' person fields sealed per lead; a lead whose key was shredded meanwhile is erased."""
        try:
            return await self.pii.seal_records(records)
        except SubjectErased as exc:
            await self.identity.release(*event_ids)
            raise ErasedSubject("this person was erased") from exc

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
