"""Standard Webhooks verification: good signatures pass; stale, future, tampered or unsigned fail."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.ingest.webhooks import TOLERANCE_SECONDS, WebhookError, WebhookSecret, verify_webhook

SECRET = WebhookSecret.parse("whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode())
OTHER = WebhookSecret.parse("whsec_" + base64.b64encode(b"another-secret-another-secret!!").decode())
NOW = 1_800_000_000


def headers(
    body: bytes, *, webhook_id: str = "msg_1", timestamp: int = NOW, secret: WebhookSecret = SECRET
) -> dict[str, str]:
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": secret.sign(webhook_id, timestamp, body),
    }


def test_a_signed_fresh_request_is_accepted() -> None:
    """The id of a correctly signed request is returned, with any one of several secrets."""
    body = b'{"email":"a@b.example"}'
    assert verify_webhook((OTHER, SECRET), headers(body), body, NOW) == "msg_1"


def test_the_standard_webhooks_reference_signature_verifies() -> None:
    """The example from the Standard Webhooks specification verifies (interoperability)."""
    secret = WebhookSecret.parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    body = b'{"test": 2432232314}'
    msg = {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }
    assert verify_webhook((secret,), msg, body, 1614265330) == "msg_p5jXN8AQM9LWM0D4loKWxJek"


@pytest.mark.parametrize("skew", [TOLERANCE_SECONDS + 1, -TOLERANCE_SECONDS - 1])
def test_stale_and_future_timestamps_are_refused(skew: int) -> None:
    """A timestamp outside the tolerance window fails even with a valid signature."""
    body = b"{}"
    with pytest.raises(WebhookError, match="webhook-timestamp"):
        verify_webhook((SECRET,), headers(body, timestamp=NOW - skew), body, NOW)


def test_missing_headers_are_refused() -> None:
    """A request without the three headers is not a webhook."""
    with pytest.raises(WebhookError, match="required"):
        verify_webhook((SECRET,), {}, b"{}", NOW)


@given(st.binary(min_size=1, max_size=200), st.integers(0, 199), st.integers(1, 255))
def test_any_tampering_with_the_body_is_detected(body: bytes, position: int, flip: int) -> None:
    """Changing any byte of the body invalidates the signature."""
    signed = headers(body)
    index = position % len(body)
    tampered = body[:index] + bytes([body[index] ^ flip]) + body[index + 1 :]
    with pytest.raises(WebhookError, match="no valid signature"):
        verify_webhook((SECRET,), signed, tampered, NOW)
