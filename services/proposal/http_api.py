"""proposal's HTTP API: submit quotes, read proposals and their documents, decide approvals, accept, withdraw.

Commands answer 202 once the broker acknowledged the event, which the agents then apply; reads
come from the Redis read model and the document store, so any replica answers. 401 without a
valid key, 400 for malformed JSON, 404 for an unknown proposal, 409 when its state forbids the
command, 413 for a body over the limit, 422 naming the bad field, 503 while Redis is down.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any

from faust.web import Request, Response, View

from services.proposal import intake
from services.proposal.app import Proposals
from services.proposal.document import document_path
from services.proposal.pricing import price_proposal
from services.proposal.refusals import REFUSALS
from services.proposal.storage import StorageError
from services.proposal.versions import validity_ends
from services.proposal.workflow import proposal_number
from shared.avro_codec import EncodeError
from shared.http_api import Document, HttpApi, HttpError, read_json

MEDIA_TYPES = {"pdf": "application/pdf", "html": "text/html"}
PENDING = ("requested", "escalated")
PAST = {"accept": "accepted", "withdraw": "withdrawn"}


class ProposalApi:
    """The request handlers, apart from the framework's views."""

    def __init__(self, proposals: Proposals) -> None:
        self.proposals, self.runtime, self.config = proposals, proposals.runtime, proposals.config

    async def body(self, request: Request) -> dict[str, Any]:
        parsed = await read_json(request, self.config.max_body_bytes)
        if not isinstance(parsed, dict):
            raise HttpError(422, "the body must be a JSON object")
        return parsed

    async def with_body(self, request: Request, handle: Callable[[dict[str, Any]], Awaitable[Any]]) -> Any:
        return await handle(await self.body(request))

    async def read(self, number: str) -> dict[str, Any]:
        return await self._view(number)

    async def submit(self, body: dict[str, Any]) -> dict[str, Any]:
        record = self._checked("ProposalRequested", lambda: intake.request_record(body, _new_id(), _now()))
        request = _refusals_as_422(lambda: intake.quote_request(record))
        _refusals_as_422(lambda: price_proposal(request.pricing, self.proposals.catalog))
        _refusals_as_422(lambda: self.proposals.policy.index(request.quote.role))
        if request.number:
            await self._view(request.number, request.opportunity_id)
        await self.runtime.send("proposals.requested", request.opportunity_id, ("ProposalRequested", record), wait=True)
        number = request.number or proposal_number(record["event_id"])
        return {"event_id": record["event_id"], "number": number, "opportunity_id": request.opportunity_id}

    async def decide(self, number: str, body: dict[str, Any]) -> dict[str, Any]:
        view = await self._view(number)
        approval, version = view["approval"], body.get("version", view["latest_version"])
        if not approval or approval["version"] != version or approval["status"] not in PENDING:
            raise HttpError(409, f"{number} v{version} has no approval awaiting a decision")
        fields = ("role", "approver", "approved", "note")
        record = self._checked("ApprovalDecided", lambda: _command(view, version, body, fields))
        _refusals_as_422(lambda: self.proposals.policy.index(record["role"]))
        await self.runtime.send("approvals.decided", view["opportunity_id"], ("ApprovalDecided", record), wait=True)
        return {"event_id": record["event_id"], "number": number, "version": version}

    async def accept(self, number: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self._on_live_offer(number, body, {"type": "accept", "accepted_by": body.get("accepted_by")})

    async def withdraw(self, number: str, body: dict[str, Any]) -> dict[str, Any]:
        fields = {"type": "withdraw", "withdrawn_by": body.get("withdrawn_by"), "note": body.get("note")}
        return await self._on_live_offer(number, body, fields)

    async def _on_live_offer(self, number: str, body: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
        """Send a ProposalCommand that needs the latest version sent and valid."""
        view = await self._view(number)
        version = body.get("version", view["latest_version"])
        status = status_now(view, _now())
        if version != view["latest_version"] or status != "sent":
            latest = f"v{view['latest_version']}, {status}"
            raise HttpError(409, f"{number} v{version} cannot be {PAST[fields['type']]}: latest is {latest}")
        # The read model answers the common refusals at once; the agent checks again on the ledger.
        record = self._checked("ProposalCommand", lambda: _command(view, version, body, ()) | fields)
        await self.runtime.send("proposals.commands", view["opportunity_id"], ("ProposalCommand", record), wait=True)
        return {"event_id": record["event_id"], "number": number, "version": version}

    async def document(self, number: str, name: str) -> Document:
        version, _, extension = name.partition(".")
        if extension not in MEDIA_TYPES or not version.isdigit():
            raise HttpError(404, f"no document {name!r}")
        try:
            path = document_path(number, int(version), extension)
            data = await asyncio.to_thread(self.proposals.publisher.documents.get, path)
        except StorageError as error:
            raise HttpError(404, str(error)) from error
        return Document(data, MEDIA_TYPES[extension])

    async def _view(self, number: str, opportunity_id: str | None = None) -> dict[str, Any]:
        view = await self.proposals.read_model.get(number)
        if view is None or opportunity_id not in (None, view["opportunity_id"]):
            raise HttpError(404, f"no proposal {number!r}" + (f" on {opportunity_id}" if opportunity_id else ""))
        return view

    def _checked(self, record_name: str, build: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Build a record and check it against its schema, so a bad field is a 422 here."""
        record: dict[str, Any] = _refusals_as_422(build)
        try:
            self.runtime.codec.encode(record_name, record)
        except EncodeError as error:
            raise HttpError(422, str(error)) from error
        return record


def _command(view: dict[str, Any], version: Any, body: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    head = {
        "event_id": str(body.get("event_id") or _new_id()),
        "occurred_at": _now(),
        "opportunity_id": view["opportunity_id"],
        "number": view["number"],
        "version": version,
    }
    return head | {name: body.get(name) for name in fields}


def status_now(view: dict[str, Any], now: datetime) -> str:
    """The latest version's status at `now`: the view was saved earlier, and validity may have ended since."""
    ended = validity_ends(date.fromisoformat(view["versions"][-1]["valid_until"])) <= now
    return "expired" if ended and view["status"] in ("draft", "sent") else str(view["status"])


def _refusals_as_422(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except REFUSALS as error:
        raise HttpError(422, str(error)) from error


def _new_id() -> str:
    return str(uuid.uuid4())


def _now() -> datetime:
    return datetime.now(UTC)


def install_http_api(proposals: Proposals) -> None:
    app, api = proposals.runtime.app, ProposalApi(proposals)
    http = HttpApi(proposals.runtime.metrics, proposals.config.api_keys)

    async def answer(view: View, route: str, request: Request, work: Callable[[], Awaitable[Any]]) -> Response:
        async def handle() -> tuple[int, Any]:
            result = await work()
            # A document is itself; a command's answer is 202, a read's 200.
            return (200 if isinstance(result, Document) or request.method != "POST" else 202), result

        return await http.answer(view, route, request, handle)

    @app.page("/v1/proposals")
    class Submit(View):
        async def post(self, request: Request) -> Response:
            return await answer(self, "/v1/proposals", request, lambda: api.with_body(request, api.submit))

    @app.page("/v1/proposals/{number}")
    class Read(View):
        async def get(self, request: Request, number: str) -> Response:
            return await answer(self, "/v1/proposals/{number}", request, lambda: api.read(number))

    @app.page("/v1/proposals/{number}/v/{name}")
    class Document(View):
        async def get(self, request: Request, number: str, name: str) -> Response:
            return await answer(self, "/v1/proposals/{number}/v/{name}", request, lambda: api.document(number, name))

    @app.page("/v1/proposals/{number}/accept")
    class Accept(View):
        async def post(self, request: Request, number: str) -> Response:
            route = "/v1/proposals/{number}/accept"
            return await answer(self, route, request, lambda: api.with_body(request, lambda b: api.accept(number, b)))

    @app.page("/v1/proposals/{number}/withdraw")
    class Withdraw(View):
        async def post(self, request: Request, number: str) -> Response:
            route = "/v1/proposals/{number}/withdraw"
            return await answer(self, route, request, lambda: api.with_body(request, lambda b: api.withdraw(number, b)))

    @app.page("/v1/approvals/{number}/decisions")
    class Decide(View):
        async def post(self, request: Request, number: str) -> Response:
            route = "/v1/approvals/{number}/decisions"
            return await answer(self, route, request, lambda: api.with_body(request, lambda b: api.decide(number, b)))
