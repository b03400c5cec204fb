"""Builds the email.message.EmailMessage for a rendered step, headers included.

Pure: the Message-ID is derived from enrolment and step, so a retried send carries the same id.
"""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from services.nurture.sequences import RenderedStep, SequenceKind


@dataclass(frozen=True)
class Unsubscribe:
    """Where a recipient can unsubscribe: a one-click https URL and a mailto address."""

    url: str
    mailto: str

    def header(self) -> str:
        """The List-Unsubscribe value (RFC 2369): https first, then mailto."""
        return f"<{self.url}>, <mailto:{self.mailto}?subject=unsubscribe>"


def message_id(enrolment_id: str, step_index: int, domain: str) -> str:
    """A Message-ID unique per enrolment and step and the same on every retry."""
    digest = hashlib.sha256(f"{enrolment_id}\x1f{step_index}".encode()).hexdigest()[:32]
    return f"<{digest}@{domain}>"


def sender_for(kind: SequenceKind, rep: Address, marketing: Address) -> Address:
    """Rep sequences go out as the assigned rep, marketing tracks as the marketing sender."""
    return rep if kind == "rep" else marketing


def _html_from_text(text: str) -> str:
    """A plain HTML body for steps that only have text: escaped, one paragraph per block."""
    blocks = (html.escape(block).replace("\n", "<br>\n") for block in text.strip().split("\n\n"))
    return "<html><body>\n" + "\n".join(f"<p>{block}</p>" for block in blocks) + "\n</body></html>\n"


def build_message(
    rendered: RenderedStep,
    *,
    sender: Address,
    to: Address,
    msg_id: str,
    kind: SequenceKind,
    unsubscribe: Unsubscribe,
    sent_at: datetime,
) -> EmailMessage:
    """A multipart/alternative email (text, then HTML) with List-Unsubscribe headers.

    Marketing emails also carry List-Unsubscribe-Post for RFC 8058 one-click unsubscribe;
    a rep's one-to-one email keeps the link and mailto without the one-click promise.
    """
    if rendered.subject is None:
        raise ValueError("an email needs a subject; was this a task step?")
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, rendered.subject
    message["Message-ID"], message["Date"] = msg_id, format_datetime(sent_at)
    message["List-Unsubscribe"] = unsubscribe.header()
    if kind == "marketing":
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(rendered.text)
    message.add_alternative(rendered.html or _html_from_text(rendered.text), subtype="html")
    return message
