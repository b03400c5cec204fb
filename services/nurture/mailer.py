"""SMTP delivery with aiosmtplib: one transaction per email, failures sorted into retry or bounce.

Knows nothing of sequences or send-once keys; the caller guards the send.
"""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib

from services.nurture.config import SmtpSettings
from shared.errors import TransientFailure


class PermanentRejection(Exception):
    """The relay refused the recipient or the message for good (5xx): a hard bounce."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code} {message}")
        self.code = code


def _code(error: aiosmtplib.SMTPException) -> int:
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused) and error.recipients:
        return min(refused.code for refused in error.recipients)
    return int(getattr(error, "code", 0) or 0)


def is_bounce(error: aiosmtplib.SMTPException) -> bool:
    """Only a 5xx about the recipient or the message is the lead's bounce; a 5xx about our
    sender or credentials is our misconfiguration and must not suppress anyone."""
    about_lead = (aiosmtplib.SMTPRecipientsRefused, aiosmtplib.SMTPRecipientRefused, aiosmtplib.SMTPDataError)
    return isinstance(error, about_lead) and 500 <= _code(error) < 600


async def deliver(message: EmailMessage, smtp: SmtpSettings) -> str:
    """Hand the message to the relay; returns the relay's answer.

    Raises PermanentRejection for a 5xx about the recipient or content, TransientFailure for
    4xx answers, refused connections, timeouts and everything else worth retrying.
    """
    try:
        _, answer = await aiosmtplib.send(
            message,
            hostname=smtp.host,
            port=smtp.port,
            username=smtp.username or None,
            password=smtp.password or None,
            start_tls=smtp.starttls,
            timeout=smtp.timeout_seconds,
            local_hostname=smtp.local_hostname,
        )
    except aiosmtplib.SMTPException as error:
        if is_bounce(error):
            raise PermanentRejection(_code(error), str(error)) from error
        raise TransientFailure(f"smtp: {error}") from error
    except OSError as error:
        raise TransientFailure(f"smtp unreachable: {error}") from error
    return answer
