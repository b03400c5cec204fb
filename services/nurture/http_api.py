"""nurture's HTTP API: one-click unsubscribe (RFC 8058), enrolments, sequences with A/B stats, tasks.

Every endpoint but the unsubscribe needs the Bearer key; the unsubscribe token is that endpoint's
only credential, and it never redirects. Commands (enrol, exit) answer 202 once the broker took
them; the lead's partition applies them. GET /v1/leads/{lead_id}/enrolments reads the Redis read
model the lead's partition writes on every change, so any worker answers.
"""

from __future__ import annotations

import html
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from faust.web import Request, Response, View

from services.nurture.app import Nurture
from services.nurture.commands import issue
from services.nurture.records import Command, unsubscribe_event
from services.nurture.sequences import Sequence
from services.nurture.stats import step_stats
from services.nurture.tokens import InvalidToken, verify_token
from shared.http_api import Document, HttpApi, HttpError, read_json

_CONFIRM_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Unsubscribe</title></head>
<body><h1>Unsubscribe</h1><p>Stop all emails from us to this address?</p>
<form method="post" action="/v1/unsubscribe?token={token}">
<input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit">Unsubscribe</button></form></body></html>
"""
_DONE_PAGE = '<!doctype html><html lang="en"><body><p>You are unsubscribed.</p></body></html>\n'
_HTML = "text/html"  # aiohttp refuses a charset inside content_type


def describe(sequence: Sequence) -> dict[str, Any]:
    """A sequence as the API shows it: steps with delay, channel and variant weights."""
    window = sequence.window
    return {
        "sequence_id": sequence.sequence_id,
        "name": sequence.name,
        "kind": sequence.kind,
        "window": {
            "start": window.start.isoformat(),
            "end": window.end.isoformat(),
            "weekdays": sorted(window.weekdays),
        },
        "steps": [
            {
                "step_id": step.step_id,
                "delay": str(step.delay),
                "channel": step.channel,
                "task_kind": step.task_kind,
                "variants": [{"name": v.name, "weight": v.weight} for v in step.variants],
            }
            for step in sequence.steps
        ],
    }


def _page(text: str) -> Document:
    return Document(text.encode(), _HTML)


class NurtureApi:
    """The request handlers, apart from the framework's views; each returns (status, body)."""

    def __init__(self, nurture: Nurture) -> None:
        self.nurture, self.config = nurture, nurture.config

    def lead_of(self, token: str) -> str:
        try:
            return verify_token(token, self.config.unsubscribe_secret, datetime.now(UTC))
        except InvalidToken as error:
            raise HttpError(400, {"error": "invalid token", "reason": error.reason}) from error

    async def confirm_page(self, token: str) -> tuple[int, Any]:
        try:
            self.lead_of(token)
        except HttpError as error:
            return 400, _page(f"<p>This link is not valid ({html.escape(error.body['reason'])}).</p>\n")
        return 200, _page(_CONFIRM_PAGE.format(token=html.escape(token, quote=True)))

    async def unsubscribe(self, token: str, wants_html: bool) -> tuple[int, Any]:
        """Suppress at once (no email may slip out meanwhile), then emit the engagement event."""
        lead_id = self.lead_of(token)
        await self.nurture.store.suppress(lead_id, "unsubscribed")
        event = ("EngagementEvent", unsubscribe_event(lead_id, token, datetime.now(UTC)))
        await self.nurture.runtime.send("engagement.inbound", lead_id, event, wait=True)
        self.nurture.runtime.log.info("lead_unsubscribed", lead_id=lead_id)
        return 200, (_page(_DONE_PAGE) if wants_html else {"unsubscribed": True})

    async def enrolments(self, lead_id: str) -> tuple[int, Any]:
        view = await self.nurture.index.enrolments(lead_id)
        if view is None:
            raise HttpError(404, "no enrolments for this lead")
        return 200, {"lead_id": lead_id, "enrolments": view["enrolments"]}

    async def enrol(self, request: Request) -> tuple[int, Any]:
        body = await read_json(request, self.config.max_body_bytes)
        lead_id, sequence_id = (body.get(k) if isinstance(body, dict) else None for k in ("lead_id", "sequence_id"))
        if not isinstance(lead_id, str) or not lead_id or not isinstance(sequence_id, str):
            raise HttpError(422, "the body needs lead_id and sequence_id strings")
        if sequence_id not in self.nurture.sequences:
            raise HttpError(422, f"unknown sequence {sequence_id!r}")
        # A client's request_id makes a retried POST the same command (its id derives from it).
        cause = str(body.get("request_id") or uuid.uuid4())
        command_id = await issue(
            self.nurture, Command("enrol", lead_id, cause, sequence_id, reason="manual"), wait=True
        )
        return 202, {"command_id": command_id, "lead_id": lead_id, "sequence_id": sequence_id}

    async def exit(self, enrolment_id: str) -> tuple[int, Any]:
        lead_id = await self.nurture.store.lead_of_enrolment(enrolment_id)
        if lead_id is None:
            raise HttpError(404, f"no enrolment {enrolment_id!r}")
        command = Command("exit", lead_id, f"manual-exit:{enrolment_id}", enrolment_id=enrolment_id, reason="manual")
        command_id = await issue(self.nurture, command, wait=True)
        return 202, {"command_id": command_id, "lead_id": lead_id, "enrolment_id": enrolment_id}

    async def sequences(self) -> tuple[int, Any]:
        described = []
        for sequence in self.nurture.sequences.values():
            counts = await self.nurture.stats.counts(sequence.sequence_id)
            described.append(describe(sequence) | {"stats": step_stats(sequence, counts)})
        return 200, {"sequences": described}

    async def complete_task(self, task_id: str) -> tuple[int, Any]:
        task = await self.nurture.store.complete_task(task_id, datetime.now(UTC))
        if task is None:
            raise HttpError(404, f"no task {task_id!r}")
        return 200, {"task_id": task_id, "completed_at": task["completed_at"]}


def install_http_api(nurture: Nurture) -> None:
    app, api = nurture.runtime.app, NurtureApi(nurture)
    http = HttpApi(nurture.runtime.metrics, nurture.config.api_keys)
    Work = Callable[[], Awaitable[tuple[int, Any]]]

    async def answer(view: View, route: str, request: Request, work: Work, auth: bool = True) -> Response:
        return await http.answer(view, route, request, work, auth=auth)

    @app.page("/v1/unsubscribe")
    class Unsubscribe(View):
        async def get(self, request: Request) -> Response:
            token = request.query.get("token", "")
            return await answer(self, "/v1/unsubscribe", request, lambda: api.confirm_page(token), auth=False)

        async def post(self, request: Request) -> Response:
            token, wants_html = request.query.get("token", ""), "text/html" in request.headers.get("Accept", "")
            return await answer(self, "/v1/unsubscribe", request, lambda: api.unsubscribe(token, wants_html), False)

    @app.page("/v1/leads/{lead_id}/enrolments")
    class LeadEnrolments(View):
        async def get(self, request: Request, lead_id: str) -> Response:
            return await answer(self, "/v1/leads/{lead_id}/enrolments", request, lambda: api.enrolments(lead_id))

    @app.page("/v1/enrolments")
    class Enrolments(View):
        async def post(self, request: Request) -> Response:
            return await answer(self, "/v1/enrolments", request, lambda: api.enrol(request))

    @app.page("/v1/enrolments/{enrolment_id}")
    class Enrolment(View):
        async def delete(self, request: Request, enrolment_id: str) -> Response:
            return await answer(self, "/v1/enrolments/{enrolment_id}", request, lambda: api.exit(enrolment_id))

    @app.page("/v1/sequences")
    class Sequences(View):
        async def get(self, request: Request) -> Response:
            return await answer(self, "/v1/sequences", request, api.sequences)

    @app.page("/v1/tasks/{task_id}/complete")
    class CompleteTask(View):
        async def post(self, request: Request, task_id: str) -> Response:
            return await answer(self, "/v1/tasks/{task_id}/complete", request, lambda: api.complete_task(task_id))
