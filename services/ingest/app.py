"""ingest's wiring: the Kafka agents on leads.inbound and engagement.inbound, the HTTP API, erasure
and health, all on one capture path (services/ingest/intake.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from services.ingest.config import PORT, IngestConfig
from services.ingest.erasure import install_erasure
from services.ingest.http_api import install_http_api
from services.ingest.intake import ErasedSubject, Ingest
from services.ingest.validation import ValidationFailed, validate_engagement, validate_lead
from shared.dead_letters import RecordMeta
from shared.errors import InvalidRecord
from shared.health import install_health
from shared.runtime import ServiceRuntime, runtime_for


def build(runtime: ServiceRuntime, config: IngestConfig) -> Ingest:
    """Wire agents, HTTP API, erasure and health onto the runtime's app."""
    ingest = Ingest(runtime, config)

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
    runtime = runtime_for("ingest", PORT, env)
    return build(runtime, IngestConfig.from_env(env))
