"""opportunity's settings, from OPPORTUNITY_* and SALESFLOW_* environment variables."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from services.opportunity.pipeline import DEFAULT_PIPELINES_FILE
from shared.config import SettingsError, env_float, env_int, env_list, env_secret, env_str

PORT = 8005


@dataclass(frozen=True)
class OpportunityConfig:
    """pipelines_path: the pipelines YAML; alert_interval_seconds: how often the local partitions
    are scanned for alerts; alert_claim_ttl_seconds: how long an alert's send-once key lives
    (it only has to outlast the mark command's round trip)."""

    pipelines_path: str
    api_keys: tuple[str, ...]
    generated_key: bool
    alert_interval_seconds: float = 5.0
    alert_claim_ttl_seconds: int = 7 * 24 * 3600
    max_body_bytes: int = 64 * 1024
    max_list: int = 500

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> OpportunityConfig:
        env = os.environ if env is None else env
        keys = env_list({"k": env_secret(env, "SALESFLOW_API_KEYS")}, "k")
        interval = env_float(env, "OPPORTUNITY_ALERT_INTERVAL_SECONDS", 5.0)
        if interval <= 0:
            raise SettingsError(f"OPPORTUNITY_ALERT_INTERVAL_SECONDS must be above 0, got {interval}")
        return cls(
            pipelines_path=env_str(env, "OPPORTUNITY_PIPELINES_PATH", str(DEFAULT_PIPELINES_FILE)),
            # With no keys configured the local stack generates one and prints it at start.
            api_keys=keys or (secrets.token_urlsafe(24),),
            generated_key=not keys,
            alert_interval_seconds=interval,
            alert_claim_ttl_seconds=env_int(env, "OPPORTUNITY_ALERT_CLAIM_TTL_SECONDS", 7 * 24 * 3600),
            max_body_bytes=env_int(env, "OPPORTUNITY_MAX_BODY_BYTES", 64 * 1024),
            max_list=env_int(env, "OPPORTUNITY_MAX_LIST", 500),
        )
