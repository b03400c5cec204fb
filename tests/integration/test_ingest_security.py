"""ingest's API keys, scopes and per-key rate limits, on a real ingest process and Redis."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from services.ingest.webhooks import WebhookSecret
from tests.integration.harness import Infra, Stack

WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"webhook-secret-for-the-tests-32b").decode()
SCOPED = "partner-key-" + "p" * 12
OPEN = "open-key-" + "o" * 12


@pytest.fixture(scope="module")
def ingest(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = Stack(infra, tmp_path_factory.mktemp("security"))
    digest = hashlib.sha256(SCOPED.encode()).hexdigest()
    stack.extra_env["SALESFLOW_API_KEYS"] = f"sha256:{digest}@partner,{OPEN}"
    stack.extra_env["INGEST_RATE_LIMIT_PER_SECOND"] = "5"
    stack.extra_env["INGEST_WEBHOOK_SECRETS"] = WEBHOOK_SECRET
    stack.start("ingest")
    yield stack
    stack.close()


def post(stack: Stack, key: str, body: Any) -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(
        stack.services["ingest"].url("/v1/leads"),
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers)


def lead(source: str) -> dict[str, Any]:
    return {"source": source, "email": f"{uuid.uuid4().hex[:8]}@partner.example"}


def test_key_kept_as_digest_is_accepted_within_its_scope(ingest: Stack) -> None:
    """A key configured only by its digest works, but only for the sources it is scoped to."""
    assert post(ingest, SCOPED, lead("partner"))[0] == 202
    assert post(ingest, SCOPED, lead("web_form"))[0] == 403
    assert post(ingest, OPEN, lead("web_form"))[0] == 202


def test_requests_over_the_per_key_limit_get_429_with_retry_after(ingest: Stack) -> None:
    """A burst past the per-second limit is refused with Retry-After; another key is unaffected."""
    answers = [post(ingest, OPEN, lead("api")) for _ in range(30)]
    limited = [headers for status, headers in answers if status == 429]
    assert limited, "no request was rate limited"
    assert all(int(h["Retry-After"]) >= 1 for h in limited)
    assert post(ingest, SCOPED, lead("partner"))[0] == 202


def post_webhook(stack: Stack, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(stack.services["ingest"].url("/v1/webhooks/leads"), data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def signed(body: bytes, webhook_id: str, timestamp: int) -> dict[str, str]:
    signature = WebhookSecret.parse(WEBHOOK_SECRET).sign(webhook_id, timestamp, body)
    return {"webhook-id": webhook_id, "webhook-timestamp": str(timestamp), "webhook-signature": signature}


def test_signed_webhook_is_accepted_once_and_stale_or_forged_ones_are_refused(ingest: Stack) -> None:
    """A Standard Webhooks request is accepted; its replay, a stale one and a forged one are not."""
    body = json.dumps(lead("partner")).encode()
    webhook_id = f"msg_{uuid.uuid4().hex}"
    now = int(time.time())
    assert post_webhook(ingest, body, signed(body, webhook_id, now)) == 202
    assert post_webhook(ingest, body, signed(body, webhook_id, now)) == 409
    stale = f"msg_{uuid.uuid4().hex}"
    assert post_webhook(ingest, body, signed(body, stale, now - 3600)) == 401
    forged = signed(body, f"msg_{uuid.uuid4().hex}", now)
    assert post_webhook(ingest, body.replace(b"partner", b"import_"), forged) == 401
