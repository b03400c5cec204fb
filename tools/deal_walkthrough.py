"""python -m tools.deal_walkthrough: one deal from a converted lead to closed won, over HTTP.

Against the running local stack (`make dev-up`): submits a lead to ingest, converts it, advances the
deal, quotes it with a discount that needs the manager, approves, fetches the PDF, accepts it and
waits for the deal to close as won, printing what the API answers at each step; then prints the
deal's events as they are on the broker. Exits non-zero at the first step that does not happen.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from tools.deal_walkthrough_events import read_deal_events, summary

Say = Callable[[str], None]
OWNER = "rep-emea-mm-01"


class WalkFailed(RuntimeError):
    """A step did not happen (an unexpected answer, or a state not reached in time)."""


@dataclass(frozen=True)
class Endpoints:
    """Base URLs of the services the walk calls, and the API key they accept."""

    api_key: str
    ingest: str = "http://127.0.0.1:8001"
    opportunity: str = "http://127.0.0.1:8005"
    proposal: str = "http://127.0.0.1:8006"
    timeout: float = 60.0


@dataclass
class Walk:
    """What the walk made and saw: ids, the generated version's view, the PDF and the closed deal."""

    lead_id: str = ""
    opportunity_id: str = ""
    number: str = ""
    proposal: dict[str, Any] = field(default_factory=dict)
    pdf: bytes = b""
    deal: dict[str, Any] = field(default_factory=dict)


class Client:
    """JSON over HTTP with the stack's key; `until` polls a GET until its answer is ready."""

    def __init__(self, endpoints: Endpoints) -> None:
        self.endpoints = endpoints

    def call(self, method: str, url: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": f"Bearer {self.endpoints.api_key}", "Content-Type": "application/json"}
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, _decoded(response.read(), response.headers.get_content_type())
        except urllib.error.HTTPError as error:
            return error.code, _decoded(error.read(), error.headers.get_content_type())

    def command(self, url: str, body: dict[str, Any]) -> Any:
        status, answer = self.call("POST", url, body)
        if status != 202:
            raise WalkFailed(f"POST {url} answered {status}: {answer}")
        return answer

    def until(self, url: str, ready: Callable[[Any], bool], what: str) -> Any:
        deadline = time.monotonic() + self.endpoints.timeout
        while True:
            status, answer = self.call("GET", url)
            if status == 200 and ready(answer):
                return answer
            if time.monotonic() > deadline:
                raise WalkFailed(
                    f"{what}: not reached in {self.endpoints.timeout:.0f} s (GET {url}: {status} {answer})"
                )
            time.sleep(0.3)


def _decoded(data: bytes, content_type: str) -> Any:
    return json.loads(data) if content_type == "application/json" else data


def walk(endpoints: Endpoints, say: Say = print, customer: dict[str, Any] | None = None) -> Walk:
    """Run every step in order; raises WalkFailed naming the step that did not happen."""
    client, result = Client(endpoints), Walk()
    result.lead_id = submit_lead(client, say)
    result.opportunity_id = convert_lead(client, result.lead_id, say)
    advance(client, result.opportunity_id, say)
    result.number = request_quote(client, result.opportunity_id, customer or DEMO_CUSTOMER, say)
    result.proposal = approve(client, result.number, say)
    result.pdf = fetch_pdf(client, result.proposal, say)
    result.deal = accept(client, result.number, result.opportunity_id, say)
    return result


DEMO_CUSTOMER = {
    "company": "Łódź Logistics Sp. z o.o.",
    "contact": "Zoë Łukasiewicz",
    "email": "zoe.lukasiewicz@lodz-logistics.example",
    "address": ["ul. Piotrkowska 104", "90-926 Łódź", "Poland"],
}


def submit_lead(client: Client, say: Say) -> str:
    body = {
        "source": "landing_page",
        "email": f"zoe.lukasiewicz+{uuid.uuid4().hex[:8]}@lodz-logistics.example",
        "first_name": "Zoë",
        "last_name": "Łukasiewicz",
        "company": "Łódź Logistics",
        "country": "PL",
        "marketing_consent": True,
    }
    answer = client.command(f"{client.endpoints.ingest}/v1/leads", body)
    say(f"1. lead submitted to ingest: lead_id={answer['lead_id']}")
    return str(answer["lead_id"])


def convert_lead(client: Client, lead_id: str, say: Say) -> str:
    close = (date.today() + timedelta(days=45)).isoformat()
    body = {"account_id": "acct_lodz_logistics", "amount": "30000.00", "currency": "USD", "close_date": close}
    answer = client.command(f"{client.endpoints.opportunity}/v1/leads/{lead_id}/convert", body | {"owner_id": OWNER})
    deal_id = str(answer["opportunity_id"])
    deal = client.until(f"{client.endpoints.opportunity}/v1/opportunities/{deal_id}", lambda d: True, "deal opened")
    say(f"2. lead converted: deal {deal_id} opened in {deal['stage']} (probability {deal['probability']})")
    return deal_id


def advance(client: Client, deal_id: str, say: Say) -> None:
    url = f"{client.endpoints.opportunity}/v1/opportunities/{deal_id}"
    for stage in ("discovery", "demo", "proposal"):
        client.command(f"{url}/commands", {"type": "change_stage", "stage": stage})
        deal = client.until(url, _in_stage(stage), f"deal moved to {stage}")
        say(f"3. deal advanced to {stage}: probability {deal['probability']}, expected {deal['expected_revenue']}")


def _in_stage(stage: str) -> Callable[[Any], bool]:
    return lambda deal: bool(deal["stage"] == stage)


def request_quote(client: Client, deal_id: str, customer: dict[str, Any], say: Say) -> str:
    body = {
        "opportunity_id": deal_id,
        "customer": customer,
        "lines": [
            {"sku": "SF-CRM-PRO", "quantity": 25, "discount": "0.20"},
            {"sku": "SF-ONB-STD", "quantity": 1},
        ],
        "tax_rate": "0.23",
        "currency": "USD",
        "terms": "Annual subscription, invoiced yearly in advance; payment due within 30 days of invoice.",
        "valid_until": (date.today() + timedelta(days=30)).isoformat(),
        "requested_by": {"rep_id": OWNER, "role": "rep"},
    }
    number = str(client.command(f"{client.endpoints.proposal}/v1/proposals", body)["number"])
    view = client.until(_proposal_url(client, number), lambda v: v["approval"] is not None, "approval requested")
    say(f"4. quote {number} v1 priced at {_total(view)}; 20% discount awaits {', '.join(view['approval']['pending'])}")
    return number


def approve(client: Client, number: str, say: Say) -> dict[str, Any]:
    decision = {"role": "manager", "approver": "mgr-1", "approved": True, "note": "Multi-year prospect."}
    client.command(f"{client.endpoints.proposal}/v1/approvals/{number}/decisions", decision)
    view: dict[str, Any] = client.until(_proposal_url(client, number), lambda v: v["status"] == "sent", "generated")
    say(f"5. manager approved; {number} v1 generated and sent: {_total(view)}, {view['versions'][-1]['pdf_url']}")
    return view


def fetch_pdf(client: Client, view: dict[str, Any], say: Say) -> bytes:
    status, pdf = client.call("GET", view["versions"][-1]["pdf_url"])
    if status != 200 or not isinstance(pdf, bytes) or not pdf.startswith(b"%PDF"):
        raise WalkFailed(f"the PDF did not download: {status}")
    say(f"6. PDF fetched: {len(pdf):,} bytes")
    return pdf


def accept(client: Client, number: str, deal_id: str, say: Say) -> dict[str, Any]:
    client.command(f"{_proposal_url(client, number)}/accept", {"accepted_by": "Zoë Łukasiewicz"})
    client.until(_proposal_url(client, number), lambda v: v["status"] == "accepted", "proposal accepted")
    url = f"{client.endpoints.opportunity}/v1/opportunities/{deal_id}"
    deal: dict[str, Any] = client.until(url, lambda d: d["stage"] == "closed_won", "deal closed won")
    say(f"7. customer accepted {number} v1; deal {deal_id} is {deal['stage']} at {deal['amount']} {deal['currency']}")
    return deal


def _proposal_url(client: Client, number: str) -> str:
    return f"{client.endpoints.proposal}/v1/proposals/{number}"


def _total(view: dict[str, Any]) -> str:
    latest = view["versions"][-1]
    return f"{latest['total']} {latest['currency']} (subtotal {latest['subtotal']}, tax {latest['tax']})"


def print_events(result: Walk, say: Say = print) -> None:
    """The deal's events on the broker, topic by topic (each in the order it holds them)."""
    events = read_deal_events(dict(os.environ), result.opportunity_id, result.lead_id)
    say(f"events of {result.opportunity_id}:")
    for topic, value in events:
        say(f"  {topic:24} {summary(value)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="deal_walkthrough", description=__doc__)
    parser.add_argument("--api-key", default=os.environ.get("SALESFLOW_API_KEYS", "").split(",")[0] or None)
    parser.add_argument("--pdf-out", type=Path, default=Path(".local/walkthrough.pdf"))
    parser.add_argument("--no-events", action="store_true", help="skip reading the events from the broker")
    args = parser.parse_args(argv)
    key = args.api_key or _local_key()
    try:
        result = walk(Endpoints(key))
    except WalkFailed as error:
        print(f"walkthrough failed: {error}", file=sys.stderr)
        return 1
    args.pdf_out.parent.mkdir(parents=True, exist_ok=True)
    args.pdf_out.write_bytes(result.pdf)
    print(f"PDF saved to {args.pdf_out}")
    if not args.no_events:
        print_events(result)
    return 0


def _local_key() -> str:
    path = Path(os.environ.get("SALESFLOW_RUN_DIR", ".local")) / "api-key"
    if not path.exists():
        sys.exit("no API key: pass --api-key or start the stack with `make dev-up`")
    return path.read_text().strip()


if __name__ == "__main__":
    started = datetime.now(UTC)
    code = main()
    print(f"walkthrough {'done' if code == 0 else 'failed'} in {(datetime.now(UTC) - started).total_seconds():.1f} s")
    sys.exit(code)
