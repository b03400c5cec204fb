"""Building the outgoing email: sender, parts, Message-ID and unsubscribe headers."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.headerregistry import Address
from email.message import EmailMessage

import pytest

from services.nurture.messages import (
    Unsubscribe,
    build_message,
    message_id,
    sender_for,
)
from services.nurture.sequences import RenderedStep, SequenceKind

REP = Address("Grace Hopper", addr_spec="grace@salesflow.example")
MARKETING = Address("Salesflow", addr_spec="hello@salesflow.example")
LEAD = Address("Ada Lovelace", addr_spec="ada@example.com")
LINKS = Unsubscribe("https://salesflow.example/u/tok", "unsubscribe@salesflow.example")
SENT = datetime(2025, 6, 2, 14, tzinfo=UTC)


def build(kind: SequenceKind, html: str | None = None) -> EmailMessage:
    rendered = RenderedStep("a", "Quick question", "Hi Ada,\n\nA <question>.", html)
    return build_message(
        rendered,
        sender=sender_for(kind, REP, MARKETING),
        to=LEAD,
        msg_id=message_id("enr_1", 0, "salesflow.example"),
        kind=kind,
        unsubscribe=LINKS,
        sent_at=SENT,
    )


def test_marketing_email_has_one_click_unsubscribe() -> None:
    """Marketing email carries List-Unsubscribe (https and mailto) and RFC 8058 one-click."""
    message = build("marketing")
    assert message["From"] == "Salesflow <hello@salesflow.example>"
    assert message["List-Unsubscribe"] == (
        "<https://salesflow.example/u/tok>, <mailto:unsubscribe@salesflow.example?subject=unsubscribe>"
    )
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_rep_email_goes_out_as_the_rep_without_one_click() -> None:
    """A rep sequence email is from the rep and keeps List-Unsubscribe but not the one-click header."""
    message = build("rep")
    assert message["From"] == "Grace Hopper <grace@salesflow.example>"
    assert message["List-Unsubscribe"] is not None
    assert message["List-Unsubscribe-Post"] is None


def test_message_has_text_and_escaped_html_parts() -> None:
    """The body is multipart/alternative; derived HTML escapes the text."""
    message = build("rep")
    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    assert parsed.get_content_type() == "multipart/alternative"
    text = parsed.get_body(("plain",))
    html = parsed.get_body(("html",))
    assert text is not None and html is not None
    assert "A <question>." in text.get_content()
    assert "A &lt;question&gt;." in html.get_content()
    assert parsed["To"] == "Ada Lovelace <ada@example.com>"
    assert parsed["Date"] == "Mon, 02 Jun 2025 14:00:00 +0000"


def test_given_html_is_used_as_is() -> None:
    """A template's own HTML part replaces the derived one."""
    html = build("rep", html="<p>custom</p>").get_body(("html",))
    assert html is not None and html.get_content().strip() == "<p>custom</p>"


def test_message_id_is_deterministic_per_enrolment_and_step() -> None:
    """A retry carries the same Message-ID; another step or enrolment gets another."""
    first = message_id("enr_1", 0, "salesflow.example")
    assert first == message_id("enr_1", 0, "salesflow.example")
    assert first.startswith("<") and first.endswith("@salesflow.example>")
    assert (
        len(
            {
                first,
                message_id("enr_1", 1, "salesflow.example"),
                message_id("enr_2", 0, "salesflow.example"),
            }
        )
        == 3
    )
    assert build("rep")["Message-ID"] == first


def test_task_step_cannot_become_an_email() -> None:
    """A rendered step without a subject (a task) is refused."""
    with pytest.raises(ValueError):
        build_message(
            RenderedStep("default", None, "Call Ada", None),
            sender=REP,
            to=LEAD,
            msg_id="<x@y>",
            kind="rep",
            unsubscribe=LINKS,
            sent_at=SENT,
        )
