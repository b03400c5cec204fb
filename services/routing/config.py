"""routing's settings, from ROUTING_* environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from shared.config import env_float, env_str

PORT = 8003
DEFAULT_POLICY = Path(__file__).with_name("routing_policy.yaml")


@dataclass(frozen=True)
class RoutingConfig:
    policy_path: str
    roster_cache_seconds: float = 2.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> RoutingConfig:
        env = os.environ if env is None else env
        return cls(
            policy_path=env_str(env, "ROUTING_POLICY_PATH", str(DEFAULT_POLICY)),
            roster_cache_seconds=env_float(env, "ROUTING_ROSTER_CACHE_SECONDS", 2.0),
        )
