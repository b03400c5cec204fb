"""Checks nurture's promise on the running local stack (`make dev-up`), end to end over HTTP.

Submits one qualified lead to ingest, waits for its first email at the SMTP sink, checks it is
personalised and sent as a rep of the roster, posts the lead's reply, then waits past the time the
next email was due and checks that the sink holds exactly the emails the sequence promised
before the reply (no more, no fewer), each inside the sequence's send window. Exit status 0
when every check holds; a report line per check either way.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import email.utils
import json
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from datetime import time as clock
from email.message import EmailMessage
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import yaml

from tools.devstack import RUN_DIR, api_key

ROSTER = Path(__file__).resolve().parents[1] / "services" / "routing" / "demo_roster.yaml"
# Fit alone scores below the MQL threshold; two form submissions qualify the lead (scoring_rules.yaml).
LEAD = {
    "source": "web_form",
    "job_title": "VP of Sales",
    "employees": 1200,
    "country": "US",
    "region": "CA",
    "industry": "Software",
    "product_interest": "platform",
    "annual_revenue": 50_000_000,
    "attributes": {"timezone": "America/Los_Angeles"},
}
ZONE = ZoneInfo("America/Los_Angeles")
SECONDS_PER = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
T = TypeVar("T")


class Check:
    """Collects pass/fail lines; `ok` is False once any check failed."""

    def __init__(self) -> None:
        self.ok = True

    def that(self, holds: bool, what: str) -> bool:
        self.ok = self.ok and holds
        print(f"{'ok  ' if holds else 'FAIL'} {what}", flush=True)
        return holds


def call(base: str, method: str, path: str, key: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    request = urllib.request.Request(f"{base}{path}", data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, None


def wait_for(get: Callable[[], T | None], seconds: float) -> T | None:
    """Poll `get` until it returns something, or None after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = get()
        if found:
            return found
        time.sleep(0.5)
    return None


def inbox(mail_dir: Path, address: str) -> list[EmailMessage]:
    """The sink's messages to `address`, oldest first."""
    messages = []
    for path in sorted(mail_dir.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if address in str(message["To"]).lower():
            messages.append(message)
    return messages


def in_window(sent: datetime, window: dict[str, Any], zone: ZoneInfo) -> bool:
    local = sent.astimezone(zone)
    start, end = clock.fromisoformat(window["start"]), clock.fromisoformat(window["end"])
    return local.weekday() in window["weekdays"] and start <= local.time().replace(tzinfo=None) <= end


@dataclass
class Trial:
    """One lead's run through the stack: who it is and what the checks have seen so far."""

    args: argparse.Namespace
    key: str
    check: Check = field(default_factory=Check)
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    lead_id: str = ""

    @property
    def address(self) -> str:
        return f"ada.{self.tag}@engines-{self.tag}.example"

    @property
    def first_name(self) -> str:
        return f"Ada{self.tag[:4]}"

    @property
    def company(self) -> str:
        return f"Engines {self.tag}"

    def engage(self, kind: str) -> int:
        body = {"event_id": uuid.uuid4().hex, "email": self.address, "type": kind}
        return call(self.args.ingest, "POST", "/v1/engagement", self.key, body)[0]

    def enrolment(self) -> dict[str, Any] | None:
        status, body = call(self.args.nurture, "GET", f"/v1/leads/{self.lead_id}/enrolments", self.key)
        return next(iter(body["enrolments"]), None) if status == 200 and body["enrolments"] else None

    def mail(self) -> list[EmailMessage]:
        return inbox(RUN_DIR / "mail", self.address)


def run(args: argparse.Namespace) -> bool:
    trial = Trial(args, api_key())
    sequence = submit(trial)
    if sequence is None or not first_email(trial, sequence):
        return False
    # When the next email would go out, read before the reply ends the enrolment.
    moved_on = wait_for(lambda: _when(trial.enrolment(), lambda e: e["step_index"] > 0), 30)
    if not trial.check.that(moved_on is not None, "the enrolment moved past its first step"):
        return False
    assert moved_on is not None
    due = next_email_due(moved_on, sequence)
    if not args.skip_reply:
        trial.check.that(trial.engage("email_reply") == 202, "the lead's reply recorded")
    exited = wait_for(lambda: _when(trial.enrolment(), lambda e: e["status"] == "exited"), args.timeout)
    reason = exited["exit_reason"] if exited else None
    trial.check.that(reason == "email_reply", f"the enrolment exited on the reply ({reason})")
    quiet_until = (due or time.time() + args.quiet) + 15
    print(f"     waiting {max(0, quiet_until - time.time()):.0f} s, past the next email's due time", flush=True)
    time.sleep(max(0.0, quiet_until - time.time()))
    check_promise(trial.check, trial.mail(), exited or moved_on, sequence)
    return trial.check.ok


def submit(trial: Trial) -> dict[str, Any] | None:
    """Submit the lead and qualify it; the sequence nurture enrolled it in, or None."""
    lead = LEAD | {"event_id": uuid.uuid4().hex, "email": trial.address}
    lead |= {"first_name": trial.first_name, "company": trial.company}
    status, answer = call(trial.args.ingest, "POST", "/v1/leads", trial.key, lead)
    if not trial.check.that(status == 202, f"ingest took the lead ({status})"):
        return None
    trial.lead_id = answer["lead_id"]
    print(f"     lead {trial.lead_id} <{trial.address}>", flush=True)
    for _ in range(2):
        trial.check.that(trial.engage("form_submit") == 202, "form submission recorded")
    enrolled = wait_for(trial.enrolment, trial.args.timeout)
    if not trial.check.that(enrolled is not None, "nurture enrolled the lead (scored, qualified, assigned)"):
        return None
    assert enrolled is not None
    described = call(trial.args.nurture, "GET", "/v1/sequences", trial.key)[1]["sequences"]
    return dict(next(s for s in described if s["sequence_id"] == enrolled["sequence_id"]))


def first_email(trial: Trial, sequence: dict[str, Any]) -> bool:
    """The first email reached the sink, personalised and from the right sender."""
    first = wait_for(trial.mail, trial.args.timeout)
    if not trial.check.that(bool(first), f"the first email of {sequence['sequence_id']} reached the sink"):
        return False
    assert first is not None
    check_first(trial.check, first[0], trial.first_name, trial.company, sequence)
    return True


def next_email_due(enrolment: dict[str, Any], sequence: dict[str, Any]) -> float | None:
    """When the next email step would go out without a reply (epoch seconds), from the pending
    step's due time plus the calendar delays up to that email; None when there is no further email
    or a business-time delay makes the instant a matter of the window (then --quiet applies)."""
    steps, index = sequence["steps"], enrolment["step_index"]
    if index >= len(steps) or enrolment.get("next_due") is None:
        return None
    at = datetime.fromisoformat(enrolment["next_due"]).timestamp()
    while steps[index]["channel"] != "email":
        index += 1
        if index == len(steps):
            return None
        amount, unit = steps[index]["delay"].split(" ", 1)
        if unit not in SECONDS_PER:
            return None
        at += int(amount) * SECONDS_PER[unit]
    return at


def _when(enrolment: dict[str, Any] | None, holds: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
    return enrolment if enrolment is not None and holds(enrolment) else None


def check_first(check: Check, message: EmailMessage, first_name: str, company: str, sequence: dict[str, Any]) -> None:
    text = message.get_body(("plain",))
    body = text.get_content() if text else ""
    check.that(first_name in str(message["Subject"]) + body, f"personalised with the first name ({message['Subject']})")
    check.that(company in body, "personalised with the company")
    reps = {rep["email"] for rep in yaml.safe_load(ROSTER.read_text())["reps"]}
    sender = message["From"].addresses[0].addr_spec
    if sequence["kind"] == "rep":
        check.that(sender in reps, f"sent as a rep of the roster, as the rep sequence promises ({sender})")


def check_promise(
    check: Check, received: list[EmailMessage], enrolment: dict[str, Any], sequence: dict[str, Any]
) -> None:
    """Exactly the email steps before the one the reply cut off, each once, all inside the window."""
    steps = sequence["steps"][: enrolment["step_index"]]
    promised = [step["step_id"] for step in steps if step["channel"] == "email"]
    subjects = [str(m["Subject"]) for m in received]
    check.that(
        len(received) == len(promised), f"the sink holds {len(received)} emails, promised {promised}: {subjects}"
    )
    check.that(len({m["Message-ID"] for m in received}) == len(received), "no email twice")
    sent_at = [email.utils.parsedate_to_datetime(str(m["Date"])) for m in received]
    inside = all(in_window(moment, sequence["window"], ZONE) for moment in sent_at)
    check.that(inside, f"every email inside the window {sequence['window']}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="nurture_check", description=__doc__)
    parser.add_argument("--ingest", default="http://127.0.0.1:8001")
    parser.add_argument("--nurture", default="http://127.0.0.1:8004")
    parser.add_argument("--timeout", type=float, default=90, help="seconds to wait for each hop")
    parser.add_argument(
        "--quiet", type=float, default=120, help="seconds to watch for stray email when no due time is known"
    )
    parser.add_argument("--skip-reply", action="store_true", help="never reply: the check must then fail")
    sys.exit(0 if run(parser.parse_args()) else 1)


if __name__ == "__main__":
    main()
