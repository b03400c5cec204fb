"""ingest's settings, from INGEST_* and SALESFLOW_* environment variables."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from shared.config import env_int, env_list, env_secret

PORT = 8001


@dataclass(frozen=True)
class IngestConfig:
    api_keys: tuple[str, ...]
    generated_key: bool
    max_body_bytes: int = 1024 * 1024
    max_batch: int = 500
    dedupe_ttl_seconds: int = 7 * 24 * 3600

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> IngestConfig:
        env = os.environ if env is None else env
        keys = env_list({"k": env_secret(env, "SALESFLOW_API_KEYS")}, "k")
        return cls(
            # With no keys configured the local stack generates one and prints it at start.
            api_keys=keys or (secrets.token_urlsafe(24),),
            generated_key=not keys,
            max_body_bytes=env_int(env, "INGEST_MAX_BODY_BYTES", 1024 * 1024),
            max_batch=env_int(env, "INGEST_MAX_BATCH", 500),
            dedupe_ttl_seconds=env_int(env, "INGEST_DEDUPE_TTL_SECONDS", 7 * 24 * 3600),
        )
