"""What every HTTP API of ours shares: Bearer keys, bounded JSON bodies, errors, metrics.

`HttpApi.answer` runs one handler and maps failures to answers: 401 without a valid key,
400 malformed JSON, 413 over the body limit, 503 with Retry-After while a dependency is down,
any `HttpError` as it says. Handlers return (status, body).
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from faust.web import Request, Response, View

from shared.api_keys import ApiKey, ApiKeys, parse_entry
from shared.errors import TransientFailure
from shared.metrics import ServiceMetrics

RETRY_AFTER_SECONDS = "5"
Handler = Callable[[], Awaitable[tuple[int, Any]]]


@dataclass(frozen=True)
class Document:
    """A non-JSON answer body (a PDF, a page)."""

    data: bytes
    media_type: str


class HttpError(Exception):
    """An answer other than success, with its JSON body and extra headers."""

    def __init__(self, status: int, body: dict[str, Any] | str, headers: dict[str, str] | None = None) -> None:
        self.body = {"error": body} if isinstance(body, str) else body
        super().__init__(self.body.get("error", ""))
        self.status, self.headers = status, headers or {}


def bearer_key(header: str, keys: ApiKeys) -> ApiKey | None:
    """The configured key an `Authorization: Bearer ...` header carries, or None."""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    return keys.match(token)


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refusing with 413 as soon as it passes `limit` bytes (never buffering more)."""
    raw: Any = request  # Faust's Request type leaves out the aiohttp attributes the driver provides
    if (raw.content_length or 0) > limit:
        raise HttpError(413, f"body larger than {limit} bytes")
    body: bytes = await raw.content.read(limit + 1)
    while len(body) <= limit and not raw.content.at_eof():
        body += await raw.content.read(limit + 1 - len(body))
    if len(body) > limit:
        raise HttpError(413, f"body larger than {limit} bytes")
    return body


def parse_json(body: bytes) -> Any:
    """The parsed JSON; 400 naming the syntax error when it does not parse."""
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HttpError(400, f"malformed JSON: {exc}") from exc


async def read_json(request: Request, limit: int) -> Any:
    """The parsed JSON body, at most `limit` bytes."""
    return parse_json(await read_body(request, limit))


class HttpApi:
    """Auth, error mapping and the request metrics around every handler of one service."""

    def __init__(self, metrics: ServiceMetrics, api_keys: ApiKeys | tuple[str, ...]) -> None:
        self.api_keys = api_keys if isinstance(api_keys, ApiKeys) else ApiKeys(tuple(map(parse_entry, api_keys)))
        self.requests = metrics.counter("http_requests_total", "HTTP requests.", ("route", "status"))
        self.seconds = metrics.histogram("http_request_seconds", "HTTP request latency.", ("route",))

    def key_for(self, request: Request) -> ApiKey | None:
        return bearer_key(request.headers.get("Authorization", ""), self.api_keys)

    async def answer(self, view: View, route: str, request: Request, handle: Handler, *, auth: bool = True) -> Response:
        started = time.perf_counter()
        headers: dict[str, str] = {}
        try:
            if auth and self.key_for(request) is None:
                raise HttpError(401, "missing or invalid API key", {"WWW-Authenticate": "Bearer"})
            status, body = await handle()
        except TransientFailure as exc:
            status, body = 503, {"error": f"temporarily unavailable: {exc}"}
            headers = {"Retry-After": RETRY_AFTER_SECONDS}
        except HttpError as exc:
            status, body, headers = exc.status, exc.body, exc.headers
        self.requests.labels(route, str(status)).inc()
        self.seconds.labels(route).observe(time.perf_counter() - started)
        if isinstance(body, Document):
            response = view.bytes(body.data, content_type=body.media_type, status=status)
        else:
            response = view.json(body, status=status)
        response.headers.update(headers)
        return response
