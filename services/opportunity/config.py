"""opportunity's settings, from OPPORTUNITY_* and SALESFLOW_* environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from services.opportunity.pipeline import DEFAULT_PIPELINES_FILE
from shared.api_keys import ApiKeys
from shared.config import SettingsError, env_float, env_int, env_str

PORT = 8005


@dataclass(frozen=True)
class OpportunityConfig:
    """pipelines_path: the pipelines YAML; alert_interval_seconds: how often the local partitions
    are scanned for alerts; alert_claim_ttl_seconds: how long an alert's send-once key lives
    (it only has to outlast the mark command's round trip)."""

    pipelines_path: str
    api_keys: ApiKeys
    alert_interval_seconds: float = 5.0
    alert_claim_ttl_seconds: int = 7 * 24 * 3600
    max_body_bytes: int = 64 * 1024
    max_list: int = 500

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> OpportunityConfig:
        env = os.environ if env is None else env
        interval = env_float(env, "OPPORTUNITY_ALERT_INTERVAL_SECONDS", 5.0)
        if interval <= 0:
            raise SettingsError(f"OPPORTUNITY_ALERT_INTERVAL_SECONDS must be above 0, got {interval}")
        return cls(
            pipelines_path=env_str(env, "OPPORTUNITY_PIPELINES_PATH", str(DEFAULT_PIPELINES_FILE)),
            api_keys=ApiKeys.from_env(env),
            alert_interval_seconds=interval,
            alert_claim_ttl_seconds=env_int(env, "OPPORTUNITY_ALERT_CLAIM_TTL_SECONDS", 7 * 24 * 3600),
            max_body_bytes=env_int(env, "OPPORTUNITY_MAX_BODY_BYTES", 64 * 1024),
            max_list=env_int(env, "OPPORTUNITY_MAX_LIST", 500),
        )
