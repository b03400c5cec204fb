"""ingest's wiring: the Kafka agents on leads.inbound and engagement.inbound, the HTTP API, erasure
and health, all on one capture path (services/ingest/intake.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.ingest.config import PORT, IngestConfig
from services.ingest.erasure import install_erasure
from services.ingest.http_api import install_http_api
from services.ingest.intake import Ingest
from services.ingest.validation import ValidationFailed, validate_engagement, validate_lead
from shared.dead_letters import RecordMeta
from shared.errors import InvalidRecord
from shared.health import install_health
from shared.runtime import ServiceRuntime, runtime_for


def build(runtime: ServiceRuntime, config: IngestConfig) -> Ingest:
    """Wire agents, HTTP API, erasure and health onto the runtime's app."""
    ingest = Ingest(runtime, config)

    async def on_leads(batch: list[tuple[dict[str, Any], RecordMeta]]) -> list[InvalidRecord | None]:
        checked = [_checked(ingest, validate_lead, value) for value, _ in batch]
        await ingest.capture_lead_records([x for x in checked if not isinstance(x, InvalidRecord)])
        return [x if isinstance(x, InvalidRecord) else None for x in checked]

    async def on_engagements(batch: list[tuple[dict[str, Any], RecordMeta]]) -> list[InvalidRecord | None]:
        checked = [_checked(ingest, validate_engagement, value) for value, _ in batch]
        await ingest.capture_engagement_records([x for x in checked if not isinstance(x, InvalidRecord)])
        return [x if isinstance(x, InvalidRecord) else None for x in checked]

    # A fetched batch at a time: its Redis claims, key look-ups and confirmations are one round trip
    # each for the batch, not for every record.
    runtime.consume_batches("leads.inbound", on_leads)
    runtime.consume_batches("engagement.inbound", on_engagements)
    install_http_api(ingest)
    install_erasure(ingest)
    install_health(runtime)
    return ingest


def _checked(ingest: Ingest, validate: Any, value: dict[str, Any]) -> dict[str, Any] | InvalidRecord:
    """The validated record, or the InvalidRecord that dead-letters it (counted as rejected)."""
    try:
        result: dict[str, Any] = validate(value, now=datetime.now(UTC))
    except ValidationFailed as exc:
        ingest.reject(exc)
        return InvalidRecord(str(exc))
    return result


def create(env: dict[str, str] | None = None) -> Ingest:
    # No tables: ingest's producer may batch even on the local broker.
    runtime = runtime_for("ingest", PORT, env)
    return build(runtime, IngestConfig.from_env(env))
