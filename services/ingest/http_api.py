"""ingest's HTTP API on the service port: POST /v1/leads, POST /v1/engagement, GET /openapi.json.

Answers 202 only after the broker acknowledged the captured record; 422 naming each bad field;
401/400/413/503 as shared.http_api maps them (never accepts what it cannot dedupe).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from faust.web import Request, Response, View

from services.ingest.intake import ErasedSubject, Ingest, Outcome
from services.ingest.openapi import openapi_document
from services.ingest.validation import ValidationFailed, validate_engagement, validate_lead
from services.ingest.webhooks import TOLERANCE_SECONDS, WebhookError, verify_webhook
from shared.api_keys import ApiKey
from shared.http_api import HttpApi, HttpError, parse_json, read_body, read_json
from shared.rate_limit import RateLimiter

# Captures a validated batch (one item for a single submission), answering per item in order.
Capture = Callable[[list[dict[str, Any]]], Awaitable[list[Outcome]]]
Validate = Callable[..., dict[str, Any]]


class Submission:
    """One POST endpoint: a lead or engagement, or a batch of them; validate all, then capture."""

    def __init__(
        self, ingest: Ingest, api: HttpApi, limiter: RateLimiter, validate: Validate, capture: Capture
    ) -> None:
        self.ingest, self.api, self.limiter, self.validate, self.capture = ingest, api, limiter, validate, capture

    async def handle(self, request: Request) -> tuple[int, dict[str, Any]]:
        """The Bearer-key door: rate limit per key, then the key's source scope."""
        key = self.api.key_for(request)
        assert key is not None  # answer() refused the request otherwise
        wait = await self.limiter.retry_after(key.key_id)
        if wait:
            self.ingest.rejected_total.labels("rate_limited").inc()
            raise HttpError(429, f"over {self.limiter.per_second} requests/s for this key", {"Retry-After": str(wait)})
        return await self.submit(await read_json(request, self.ingest.config.max_body_bytes), key)

    async def handle_webhook(self, request: Request) -> tuple[int, dict[str, Any]]:
        """The signed-webhook door: signature and freshness, then the id must be new."""
        body = await read_body(request, self.ingest.config.max_body_bytes)
        headers = {name.lower(): value for name, value in request.headers.items()}
        try:
            webhook_id = verify_webhook(self.ingest.config.webhook_secrets, headers, body, time.time())
        except WebhookError as exc:
            self.ingest.rejected_total.labels("webhook_signature").inc()
            raise HttpError(401, str(exc)) from exc
        if not await self.ingest.identity.claim_webhook(webhook_id, 2 * TOLERANCE_SECONDS):
            self.ingest.rejected_total.labels("webhook_replay").inc()
            raise HttpError(409, f"webhook {webhook_id} was already received")
        return await self.submit(parse_json(body), None)

    async def submit(self, payload: Any, key: ApiKey | None) -> tuple[int, dict[str, Any]]:
        batch = isinstance(payload, list)
        items = self._items(payload)
        now = datetime.now(UTC)
        validated = [self._validate(item, index if batch else None, now) for index, item in enumerate(items)]
        refused = sorted({v["source"] for v in validated if key and "source" in v and not key.allows(v["source"])})
        if refused:
            raise HttpError(403, f"this API key may not submit leads from source {', '.join(refused)}")
        try:
            outcomes = await self.capture(validated)
        except ErasedSubject as exc:
            raise HttpError(409, str(exc)) from exc
        answers = [
            {"lead_id": o.lead_id, "event_id": v["event_id"], "duplicate": o.duplicate}
            for o, v in zip(outcomes, validated, strict=True)
        ]
        return 202, ({"results": answers} if batch else answers[0])

    def _items(self, payload: Any) -> list[Any]:
        if not isinstance(payload, list):
            return [payload]
        if not 1 <= len(payload) <= self.ingest.config.max_batch:
            raise HttpError(422, f"a batch holds 1 to {self.ingest.config.max_batch} items")
        return payload

    def _validate(self, item: Any, index: int | None, now: datetime) -> dict[str, Any]:
        try:
            return self.validate(item, now=now, event_id=_event_id_if_missing(item))
        except ValidationFailed as exc:
            self.ingest.reject(exc)
            errors = [
                {"field": e.field, "message": e.message} | ({"index": index} if index is not None else {})
                for e in exc.errors
            ]
            raise HttpError(422, {"error": "validation failed", "errors": errors}) from exc


def _event_id_if_missing(item: Any) -> str | None:
    """A fresh event_id for an item that carries none (validation takes a blank one as missing);
    None otherwise, so an id is drawn only when it is used."""
    given = item.get("event_id") if isinstance(item, dict) else None
    return str(uuid.uuid4()) if given is None or (isinstance(given, str) and not given.strip()) else None


def install_http_api(ingest: Ingest) -> None:
    app = ingest.runtime.app
    runtime = ingest.runtime
    api = ingest.http
    limiter = RateLimiter(
        runtime.redis, runtime.redis_key("ratelimit", ""), ingest.config.rate_limit_per_second, runtime.metrics
    )

    leads = Submission(ingest, api, limiter, validate_lead, lambda items: ingest.capture_leads(items, wait=True))
    engagement = Submission(
        ingest, api, limiter, validate_engagement, lambda items: ingest.capture_engagements(items, wait=True)
    )

    @app.page("/v1/leads")
    class Leads(View):
        async def post(self, request: Request) -> Response:
            return await api.answer(self, "/v1/leads", request, lambda: leads.handle(request))

    @app.page("/v1/engagement")
    class Engagement(View):
        async def post(self, request: Request) -> Response:
            return await api.answer(self, "/v1/engagement", request, lambda: engagement.handle(request))

    @app.page("/v1/webhooks/leads")
    class LeadWebhook(View):
        async def post(self, request: Request) -> Response:
            route = "/v1/webhooks/leads"
            return await api.answer(self, route, request, lambda: leads.handle_webhook(request), auth=False)

    @app.page("/v1/webhooks/engagement")
    class EngagementWebhook(View):
        async def post(self, request: Request) -> Response:
            route = "/v1/webhooks/engagement"
            return await api.answer(self, route, request, lambda: engagement.handle_webhook(request), auth=False)

    @app.page("/openapi.json")
    async def openapi(self: View, request: Request) -> Response:
        return self.json(openapi_document())
