"""scoring's settings, from SCORING_* environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from services.scoring.rules import default_rules_path
from shared.config import env_int, env_str

PORT = 8002


@dataclass(frozen=True)
class ScoringConfig:
    rules_path: str
    max_events: int = 200

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ScoringConfig:
        env = os.environ if env is None else env
        return cls(
            rules_path=env_str(env, "SCORING_RULES_PATH", str(default_rules_path())),
            max_events=env_int(env, "SCORING_MAX_EVENTS", 200),
        )
