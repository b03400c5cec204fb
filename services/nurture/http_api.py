"""nurture's HTTP API: one-click unsubscribe (RFC 8058), a lead's enrolments, the sequences.

The unsubscribe token is the only credential of the unsubscribe endpoint; it never redirects.
GET /v1/leads/{lead_id}/enrolments reads the local table: it answers only on the worker that
owns the lead's partition (404 elsewhere) until the read model is shared.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any

from faust.web import Request, Response, View

from services.nurture.app import Nurture
from services.nurture.records import unsubscribe_event
from services.nurture.sequences import Sequence
from services.nurture.tokens import InvalidToken, verify_token
from shared.errors import TransientFailure

_CONFIRM_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Unsubscribe</title></head>
<body><h1>Unsubscribe</h1><p>Stop all emails from us to this address?</p>
<form method="post" action="/v1/unsubscribe?token={token}">
<input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit">Unsubscribe</button></form></body></html>
"""
_DONE_PAGE = '<!doctype html><html lang="en"><body><p>You are unsubscribed.</p></body></html>\n'


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


class Unsubscriber:
    """Verifies a token, suppresses at once (no email may slip out meanwhile), emits the event."""

    def __init__(self, nurture: Nurture) -> None:
        self.nurture = nurture

    def lead_of(self, token: str) -> str:
        return verify_token(token, self.nurture.config.unsubscribe_secret, datetime.now(UTC))

    async def unsubscribe(self, token: str) -> str:
        lead_id = self.lead_of(token)
        await self.nurture.store.suppress(lead_id, "unsubscribed")
        event = ("EngagementEvent", unsubscribe_event(lead_id, token, datetime.now(UTC)))
        await self.nurture.runtime.send("engagement.inbound", lead_id, event, wait=True)
        self.nurture.runtime.log.info("lead_unsubscribed", lead_id=lead_id)
        return lead_id


def install_http_api(nurture: Nurture) -> None:
    app = nurture.runtime.app
    unsubscriber = Unsubscriber(nurture)

    @app.page("/v1/unsubscribe")
    class UnsubscribeView(View):
        async def get(self, request: Request) -> Response:
            token = request.query.get("token", "")
            try:
                unsubscriber.lead_of(token)
            except InvalidToken as error:
                return self.html(f"<p>This link is not valid ({error.reason}).</p>\n", status=400)
            return self.html(_CONFIRM_PAGE.format(token=html.escape(token, quote=True)))

        async def post(self, request: Request) -> Response:
            try:
                await unsubscriber.unsubscribe(request.query.get("token", ""))
            except InvalidToken as error:
                return self.json({"error": "invalid token", "reason": error.reason}, status=400)
            except TransientFailure as error:
                return self.json(
                    {"error": f"temporarily unavailable: {error}"}, status=503, headers={"Retry-After": "5"}
                )
            if "text/html" in request.headers.get("Accept", ""):
                return self.html(_DONE_PAGE)
            return self.json({"unsubscribed": True})

    @app.page("/v1/leads/{lead_id}/enrolments")
    class EnrolmentsView(View):
        async def get(self, request: Request, lead_id: str) -> Response:
            stored = nurture.leads.get(lead_id)
            if stored is None:
                return self.json({"error": "no enrolments for this lead on this worker"}, status=404)
            return self.json({"lead_id": lead_id, "enrolments": stored["enrolments"]})

    @app.page("/v1/sequences")
    class SequencesView(View):
        async def get(self, request: Request) -> Response:
            return self.json({"sequences": [describe(seq) for seq in nurture.sequences.values()]})
