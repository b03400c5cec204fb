"""analytics' settings, from ANALYTICS_* environment variables."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from services.analytics.speed import DEFAULT_SLA, SlaPolicy, sla_from_dict
from shared.config import SettingsError, env_float, env_int, env_str

PORT = 8007


@dataclass(frozen=True)
class AnalyticsConfig:
    """How often the read model is refreshed, how late an event may be, what SLA each grade has."""

    flush_interval_seconds: float = 1.0
    grace: timedelta = timedelta(minutes=15)
    hour_windows: int = 48
    day_windows: int = 35
    sla: SlaPolicy = field(default=DEFAULT_SLA)
    # Values kept per metric label (campaign, territory, rep); the rest are summed as "other".
    metric_label_limit: int = 20

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AnalyticsConfig:
        env = os.environ if env is None else env
        return cls(
            flush_interval_seconds=env_float(env, "ANALYTICS_FLUSH_INTERVAL_SECONDS", 1.0),
            grace=timedelta(seconds=env_float(env, "ANALYTICS_GRACE_SECONDS", 900.0)),
            hour_windows=env_int(env, "ANALYTICS_HOUR_WINDOWS", 48),
            day_windows=env_int(env, "ANALYTICS_DAY_WINDOWS", 35),
            sla=_sla(env_str(env, "ANALYTICS_SLA_SECONDS", "")),
            metric_label_limit=_limit(env_int(env, "ANALYTICS_METRIC_LABEL_LIMIT", 20)),
        )


def _limit(value: int) -> int:
    if value < 1:
        raise SettingsError(f"ANALYTICS_METRIC_LABEL_LIMIT must be at least 1, got {value}")
    return value


def _sla(raw: str) -> SlaPolicy:
    """JSON seconds per grade, e.g. {"A": 300, "B": 3600}; empty means the default policy."""
    if not raw:
        return DEFAULT_SLA
    try:
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("not an object")
        return sla_from_dict({str(k): float(v) for k, v in data.items()})
    except (ValueError, TypeError) as exc:
        raise SettingsError(f'ANALYTICS_SLA_SECONDS must be JSON like {{"A": 300}}, got {raw!r}') from exc
