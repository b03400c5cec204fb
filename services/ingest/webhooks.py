"""Standard Webhooks signature verification (https://www.standardwebhooks.com). Pure: `now` is
passed in; replay protection (remembering ids) is the caller's.

Signed content is `<webhook-id>.<webhook-timestamp>.<body>`, HMAC-SHA256 with the secret
(`whsec_` + base64 key); `webhook-signature` holds space-separated `v1,<base64>` entries.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

TOLERANCE_SECONDS = 300
SECRET_PREFIX = "whsec_"


class WebhookError(ValueError):
    """The request is not a valid, fresh, signed webhook; the message says which check failed."""


@dataclass(frozen=True)
class WebhookSecret:
    key: bytes

    @classmethod
    def parse(cls, text: str) -> WebhookSecret:
        try:
            return cls(base64.b64decode(text.strip().removeprefix(SECRET_PREFIX), validate=True))
        except (binascii.Error, ValueError) as exc:
            raise ValueError("a webhook secret is whsec_ followed by base64") from exc

    def sign(self, webhook_id: str, timestamp: int, body: bytes) -> str:
        content = f"{webhook_id}.{timestamp}.".encode() + body
        return "v1," + base64.b64encode(hmac.new(self.key, content, hashlib.sha256).digest()).decode()


def verify_webhook(secrets: tuple[WebhookSecret, ...], headers: Mapping[str, str], body: bytes, now: float) -> str:
    """The webhook id of a correctly signed request within the tolerance window; WebhookError else."""
    webhook_id = headers.get("webhook-id", "")
    raw_timestamp = headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "").split()
    if not webhook_id or not raw_timestamp.isdigit() or not signatures:
        raise WebhookError("webhook-id, webhook-timestamp and webhook-signature headers are required")
    timestamp = int(raw_timestamp)
    if abs(now - timestamp) > TOLERANCE_SECONDS:
        raise WebhookError(f"webhook-timestamp is more than {TOLERANCE_SECONDS} s from now")
    expected = {secret.sign(webhook_id, timestamp, body) for secret in secrets}
    if not any(hmac.compare_digest(given, wanted) for given in signatures for wanted in expected):
        raise WebhookError("no valid signature")
    return webhook_id
