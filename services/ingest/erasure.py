"""Erasure (GDPR Article 17) at ingest: `POST /v1/subjects/erase` publishes the request; the
`subjects.erasure_requested` agent forgets the email's identity, marks it erased and shreds the
lead's PII key (crypto-shredding: every sealed copy of the person's data becomes unreadable).

Every service that holds the person's data consumes the same request and reports what it removed
on `subjects.erased`; the request itself carries only the lead_id and the email's digest.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from faust.web import Request, Response, View

from services.ingest.identity import email_sha256
from services.ingest.intake import Ingest
from services.ingest.validation import normalise_email
from shared.dead_letters import RecordMeta
from shared.http_api import HttpError, read_json


def erased_record(request: dict[str, Any], service: str, removed: list[str]) -> dict[str, Any]:
    return {
        "event_id": f"{request['event_id']}:{service}",
        "occurred_at": datetime.now(UTC),
        "lead_id": request["lead_id"],
        "request_event_id": request["event_id"],
        "service": service,
        "removed": removed,
    }


def install_erasure(ingest: Ingest) -> None:
    runtime = ingest.runtime
    api = ingest.http

    async def on_request(request: dict[str, Any], meta: RecordMeta) -> None:
        removed = await ingest.identity.erase(request["email_sha256"]) if request["email_sha256"] else []
        # Crypto-shredding: without the lead's key, no copy of its events can be read again.
        if await ingest.pii.shred(request["lead_id"]):
            removed.append("redis:pii-key")
        await runtime.send(
            "subjects.erased", request["lead_id"], ("SubjectErased", erased_record(request, "ingest", removed))
        )
        runtime.log.info("subject_erased", lead_id=request["lead_id"], removed=removed)

    async def request_erasure(request: Request) -> tuple[int, dict[str, Any]]:
        body = await read_json(request, ingest.config.max_body_bytes)
        email = (
            normalise_email(body.get("email", ""))
            if isinstance(body, dict) and isinstance(body.get("email"), str)
            else None
        )
        if email is None:
            raise HttpError(
                422, {"error": "validation failed", "errors": [{"field": "email", "message": "is required"}]}
            )
        lead_id = await ingest.identity.lookup(email)
        if lead_id is None:
            raise HttpError(404, "no lead with this email")
        key = api.key_for(request)
        record = {
            "event_id": str(uuid.uuid4()),
            "occurred_at": datetime.now(UTC),
            "lead_id": lead_id,
            "email_sha256": email_sha256(email),
            "requested_by": f"key:{key.key_id}" if key else "",
        }
        await runtime.send("subjects.erasure_requested", lead_id, ("SubjectErasureRequested", record), wait=True)
        return 202, {"lead_id": lead_id, "event_id": record["event_id"]}

    runtime.consume("subjects.erasure_requested", on_request)

    @runtime.app.page("/v1/subjects/erase")
    class Erase(View):
        async def post(self, request: Request) -> Response:
            return await api.answer(self, "/v1/subjects/erase", request, lambda: request_erasure(request))
