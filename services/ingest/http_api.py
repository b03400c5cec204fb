"""ingest's HTTP API on the service port: POST /v1/leads, POST /v1/engagement, GET /openapi.json.

Answers 202 only after the broker acknowledged the captured record; 401 without a valid key,
400 for malformed JSON, 413 for a body over the limit, 422 naming each bad field, 503 with
Retry-After while Redis or the broker is unavailable (never accepts what it cannot dedupe).
"""

from __future__ import annotations

import hmac
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from faust.web import Request, Response, View

from services.ingest.app import Ingest, Outcome
from services.ingest.openapi import openapi_document
from services.ingest.validation import ValidationFailed, validate_engagement, validate_lead
from shared.errors import TransientFailure

RETRY_AFTER_SECONDS = "5"


class HttpError(Exception):
    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().__init__(body.get("error", ""))
        self.status, self.body, self.headers = status, body, headers or {}


def authorised(header: str, keys: tuple[str, ...]) -> bool:
    """Bearer key check in constant time against every configured key."""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return False
    matches = [hmac.compare_digest(token.encode(), key.encode()) for key in keys]
    return any(matches)


async def read_body(request: Request, limit: int) -> bytes:
    if (request.content_length or 0) > limit:
        raise HttpError(413, {"error": f"body larger than {limit} bytes"})
    body = await request.content.read(limit + 1)
    while len(body) <= limit and not request.content.at_eof():
        body += await request.content.read(limit + 1 - len(body))
    if len(body) > limit:
        raise HttpError(413, {"error": f"body larger than {limit} bytes"})
    return body


def parse_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HttpError(400, {"error": f"malformed JSON: {exc}"}) from exc


Capture = Callable[[dict[str, Any]], Awaitable[Outcome]]


class Submission:
    """One POST endpoint: validate each item, capture, answer."""

    def __init__(self, ingest: Ingest, route: str, validate: Any, capture: Capture, batch: bool) -> None:
        self.ingest, self.route, self.validate, self.capture, self.batch = ingest, route, validate, capture, batch

    async def handle(self, request: Request) -> tuple[int, dict[str, Any]]:
        if not authorised(request.headers.get("Authorization", ""), self.ingest.config.api_keys):
            raise HttpError(401, {"error": "missing or invalid API key"}, {"WWW-Authenticate": "Bearer"})
        payload = parse_json(await read_body(request, self.ingest.config.max_body_bytes))
        items = self._items(payload)
        validated = [self._validate(item, index if isinstance(payload, list) else None) for index, item in enumerate(items)]
        try:
            outcomes = [await self.capture(item) for item in validated]
        except TransientFailure as exc:
            raise HttpError(503, {"error": f"temporarily unavailable: {exc}"}, {"Retry-After": RETRY_AFTER_SECONDS}) from exc
        answers = [{"lead_id": o.lead_id, "event_id": v["event_id"], "duplicate": o.duplicate}
                   for o, v in zip(outcomes, validated, strict=True)]
        return 202, ({"results": answers} if isinstance(payload, list) else answers[0])

    def _items(self, payload: Any) -> list[Any]:
        if not isinstance(payload, list):
            return [payload]
        if not self.batch or not 1 <= len(payload) <= self.ingest.config.max_batch:
            raise HttpError(422, {"error": f"a batch holds 1 to {self.ingest.config.max_batch} items"})
        return payload

    def _validate(self, item: Any, index: int | None) -> dict[str, Any]:
        try:
            result: dict[str, Any] = self.validate(item, now=datetime.now(UTC), event_id=str(uuid.uuid4()))
        except ValidationFailed as exc:
            self.ingest.reject(exc)
            errors = [{"field": e.field, "message": e.message} | ({"index": index} if index is not None else {})
                      for e in exc.errors]
            raise HttpError(422, {"error": "validation failed", "errors": errors}) from exc
        return result


def install_http_api(ingest: Ingest) -> None:
    app = ingest.runtime.app
    metrics = ingest.runtime.metrics
    requests = metrics.counter("http_requests_total", "HTTP requests.", ("route", "status"))
    seconds = metrics.histogram("http_request_seconds", "HTTP request latency.", ("route",))
    leads = Submission(ingest, "/v1/leads", validate_lead, lambda v: ingest.capture_lead(v, wait=True), True)
    engagement = Submission(ingest, "/v1/engagement", validate_engagement,
                            lambda v: ingest.capture_engagement(v, wait=True), True)

    async def answer(view: View, submission: Submission, request: Request) -> Response:
        started = time.perf_counter()
        try:
            status, body, headers = *(await submission.handle(request)), {}
        except HttpError as exc:
            status, body, headers = exc.status, exc.body, exc.headers
        requests.labels(submission.route, str(status)).inc()
        seconds.labels(submission.route).observe(time.perf_counter() - started)
        response = view.json(body, status=status)
        response.headers.update(headers)  # type: ignore[attr-defined]
        return response

    @app.page("/v1/leads")
    class Leads(View):
        async def post(self, request: Request) -> Response:
            return await answer(self, leads, request)

    @app.page("/v1/engagement")
    class Engagement(View):
        async def post(self, request: Request) -> Response:
            return await answer(self, engagement, request)

    @app.page("/openapi.json")
    async def openapi(self: View, request: Request) -> Response:
        return self.json(openapi_document())
