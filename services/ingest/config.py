"""ingest's settings, from INGEST_* and SALESFLOW_* environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from services.ingest.webhooks import WebhookSecret
from shared.api_keys import ApiKeys
from shared.config import env_int, env_list, env_secret

PORT = 8001


@dataclass(frozen=True)
class IngestConfig:
    api_keys: ApiKeys
    max_body_bytes: int = 1024 * 1024
    max_batch: int = 500
    dedupe_ttl_seconds: int = 7 * 24 * 3600
    rate_limit_per_second: int = 200
    webhook_secrets: tuple[WebhookSecret, ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> IngestConfig:
        env = os.environ if env is None else env
        return cls(
            api_keys=ApiKeys.from_env(env),
            max_body_bytes=env_int(env, "INGEST_MAX_BODY_BYTES", 1024 * 1024),
            max_batch=env_int(env, "INGEST_MAX_BATCH", 500),
            dedupe_ttl_seconds=env_int(env, "INGEST_DEDUPE_TTL_SECONDS", 7 * 24 * 3600),
            # Requests per second per API key, across replicas; 0 turns the limit off.
            rate_limit_per_second=env_int(env, "INGEST_RATE_LIMIT_PER_SECOND", 200),
            webhook_secrets=tuple(
                map(WebhookSecret.parse, env_list({"s": env_secret(env, "INGEST_WEBHOOK_SECRETS")}, "s"))
            ),
        )
