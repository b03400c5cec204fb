"""Tests of analytics' settings and the API's query parsing."""

from datetime import UTC, datetime, timedelta

import pytest

from services.analytics.config import AnalyticsConfig
from services.analytics.http_api import parse_span
from shared.config import SettingsError
from shared.http_api import HttpError


def test_settings_from_the_environment() -> None:
    """Grace, windows and the SLA policy come from ANALYTICS_* variables."""
    env = {"ANALYTICS_GRACE_SECONDS": "60", "ANALYTICS_HOUR_WINDOWS": "24", "ANALYTICS_SLA_SECONDS": '{"A": 120}'}
    config = AnalyticsConfig.from_env(env)
    assert (config.grace, config.hour_windows) == (timedelta(seconds=60), 24)
    assert config.sla.targets == {"A": timedelta(seconds=120)}


def test_a_malformed_sla_is_refused() -> None:
    """ANALYTICS_SLA_SECONDS must be a JSON object of seconds."""
    with pytest.raises(SettingsError, match="ANALYTICS_SLA_SECONDS"):
        AnalyticsConfig.from_env({"ANALYTICS_SLA_SECONDS": "[1]"})


def test_the_metric_label_limit_is_configurable_and_positive() -> None:
    """ANALYTICS_METRIC_LABEL_LIMIT caps label values; 0 is refused."""
    assert AnalyticsConfig.from_env({"ANALYTICS_METRIC_LABEL_LIMIT": "5"}).metric_label_limit == 5
    with pytest.raises(SettingsError, match="ANALYTICS_METRIC_LABEL_LIMIT"):
        AnalyticsConfig.from_env({"ANALYTICS_METRIC_LABEL_LIMIT": "0"})


def test_dates_pick_day_windows_and_datetimes_hour_windows() -> None:
    """from/to as dates span day windows; as zoned datetimes, hour windows; none, running totals."""
    assert parse_span("2026-10-01", "2026-10-02") == (
        datetime(2026, 10, 1, tzinfo=UTC),
        datetime(2026, 10, 2, tzinfo=UTC),
        "day",
    )
    assert parse_span("2026-10-01T09:00:00Z", "2026-10-01T12:00:00Z")[2] == "hour"  # type: ignore[index]
    assert parse_span(None, None) is None


@pytest.mark.parametrize(
    ("start", "end"), [("2026-10-01", None), ("yesterday", "today"), ("2026-10-01T09:00", "2026-10-01T10:00")]
)
def test_bad_spans_are_400(start: str, end: str | None) -> None:
    """One bound alone, non-dates and zone-less datetimes are refused with 400."""
    with pytest.raises(HttpError) as error:
        parse_span(start, end)
    assert error.value.status == 400
