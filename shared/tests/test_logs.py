"""PII redaction in logs: masked keys, masked emails and phones in text, everything else intact."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from shared.logs import REDACTED, configure_logging, redact_pii, redact_text


def redacted(**event: Any) -> dict[str, Any]:
    return dict(redact_pii(None, "info", event))


@pytest.mark.parametrize("key", ["email", "phone", "first_name", "last_name", "name", "password", "Email"])
def test_pii_keys_are_masked_whatever_the_value(key: str) -> None:
    """A PII key's value is masked even when it does not look like an email or phone."""
    assert redacted(event="x", **{key: "Priya"})[key] == REDACTED


def test_number_under_a_pii_key_is_masked() -> None:
    """A phone number logged as an int is masked like its text form."""
    assert redacted(event="x", phone=4155550142)["phone"] == REDACTED


def test_none_under_a_pii_key_stays_none() -> None:
    """A missing value is not PII; masking it would hide that it was missing."""
    assert redacted(event="x", phone=None)["phone"] is None


@pytest.mark.parametrize(
    "text",
    [
        "reply from priya.raman@northwind-logistics.example today",
        "call +1 415 555 0142 after lunch",
        "call (415) 555-0142",
        "ring +44 20 7946 0958",
        "bounced: SAM.KELLER+promo@gmail.com",
        "dial tel:+14155550142",
        "call 4155550142: urgent",
    ],
)
def test_emails_and_phones_inside_strings_are_masked(text: str) -> None:
    """Emails and phone numbers inside free text are replaced, the rest of the text kept."""
    masked = redacted(event=text)["event"]
    assert REDACTED in masked
    assert "@" not in masked and "0142" not in masked and "7946" not in masked


@pytest.mark.parametrize(
    "text",
    [
        "127.0.0.1",
        "connected to 10.244.12.205:9092",
        "2024-05-14T10:00:00Z",
        "2024-05-14T10:00:00.123456+00:00",
        "2024-05-14 10:00:00+00:00",
        "2024-05-14",
        "lead_3f9d2c4b8a7e4f1d9c6b5a4e3d2c1b0a",
        "0b7f1c9e-3a52-4c8e-9d1f-6f2a8e4b5c71",
        "partition 3 offset 1042",
    ],
)
def test_ips_timestamps_and_ids_are_not_masked(text: str) -> None:
    """IP addresses, ISO timestamps and ids are operational data, not PII, and stay readable."""
    assert redact_text(text) == text


def test_nested_values_are_redacted() -> None:
    """PII keys and text inside dicts and lists are masked too."""
    event = redacted(event="x", lead={"email": "a@b.example", "lead_id": "l1"}, notes=["mail a@b.example"])
    assert event["lead"] == {"email": REDACTED, "lead_id": "l1"}
    assert event["notes"] == [f"mail {REDACTED}"]


def test_numbers_and_safe_keys_pass_through() -> None:
    """Non-PII keys and non-string values are left alone."""
    assert redacted(event="lead_scored", lead_id="l1", score=78, offset=1042) == {
        "event": "lead_scored",
        "lead_id": "l1",
        "score": 78,
        "offset": 1042,
    }


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """configure_logging writing into a buffer; the global logging setup restored afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging("ingest", "INFO")
    stream = io.StringIO()
    # configure_logging binds sys.stderr, which pytest swaps between test phases.
    root.handlers[0].setStream(stream)  # type: ignore[attr-defined]
    yield stream
    root.handlers[:], root.level = handlers, level
    structlog.contextvars.clear_contextvars()
    structlog.reset_defaults()


def log_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_structlog_line_carries_no_email(json_logs: io.StringIO) -> None:
    """A JSON line for an event carrying an email has the event and context but not the email."""
    structlog.get_logger("ingest").info(
        "lead_captured", email="priya@northwind.example", lead_id="l1", note="dup of priya@northwind.example"
    )
    (line,) = log_lines(json_logs)
    assert "northwind.example" not in json.dumps(line)
    assert line["event"] == "lead_captured" and line["lead_id"] == "l1" and line["service"] == "ingest"
    assert line["level"] == "info" and line["email"] == REDACTED


def test_stdlib_line_and_traceback_carry_no_email(json_logs: io.StringIO) -> None:
    """Library loggers (aiokafka, faust) and exception tracebacks go through the same redaction."""
    logging.getLogger("aiokafka").warning("send to %s failed", "priya@northwind.example")
    try:
        raise ValueError("bad address priya@northwind.example")
    except ValueError:
        structlog.get_logger("ingest").exception("lead_rejected")
    lines = log_lines(json_logs)
    assert len(lines) == 2
    assert "northwind.example" not in json.dumps(lines)
    assert lines[0]["event"] == f"send to {REDACTED} failed"
    assert "ValueError" in lines[1]["exception"]
