"""Signed, expiring unsubscribe tokens: HMAC-SHA256 over lead_id and expiry.

Pure: the key and `now` are passed in; verification compares in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime
from typing import Literal


class InvalidToken(ValueError):
    """A token that must not unsubscribe anyone; `reason` says why (for the response, not logs)."""

    def __init__(self, reason: Literal["malformed", "bad_signature", "expired"]) -> None:
        super().__init__(reason)
        self.reason = reason


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(key: bytes, lead_part: str, expiry: int) -> bytes:
    return hmac.new(key, f"unsubscribe\x1f{lead_part}\x1f{expiry}".encode(), hashlib.sha256).digest()


def make_token(lead_id: str, expires_at: datetime, key: bytes) -> str:
    """A URL-safe token naming the lead, valid until `expires_at` (whole seconds)."""
    lead_part = _b64(lead_id.encode())
    expiry = int(expires_at.timestamp())
    return f"{lead_part}.{expiry}.{_b64(_signature(key, lead_part, expiry))}"


def verify_token(token: str, key: bytes, now: datetime) -> str:
    """The lead_id the token was made for; raises InvalidToken if forged, altered or expired.

    The signature is checked before the expiry, so an attacker learns nothing from timing
    or from the reason about an expiry they could not have signed.
    """
    try:
        lead_part, expiry_text, signature_text = token.split(".")
        expiry, signature, lead_id = (
            int(expiry_text),
            _unb64(signature_text),
            _unb64(lead_part).decode(),
        )
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidToken("malformed") from error
    if not hmac.compare_digest(signature, _signature(key, lead_part, expiry)):
        raise InvalidToken("bad_signature")
    if now.timestamp() >= expiry:
        raise InvalidToken("expired")
    return lead_id
