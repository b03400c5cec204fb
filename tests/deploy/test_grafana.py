"""Grafana: the dashboards load, use the provisioned datasource, and query only metrics that exist."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.support import DEPLOY, exported_metrics, load_yaml, recorded_names, selected_names

pytestmark = pytest.mark.deploy

DASHBOARDS = sorted((DEPLOY / "grafana/dashboards").glob("*.json"))


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    return [panel for panel in dashboard["panels"] if panel["type"] != "row"]


def expressions(dashboard: dict[str, Any]) -> list[str]:
    exprs = [target["expr"] for panel in panels(dashboard) for target in panel["targets"]]
    return exprs + [variable["definition"] for variable in dashboard["templating"]["list"]]


def known() -> frozenset[str]:
    return exported_metrics() | recorded_names()


@pytest.fixture(params=DASHBOARDS, ids=lambda path: path.stem)
def dashboard(request: pytest.FixtureRequest) -> dict[str, Any]:
    path: Path = request.param
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def test_there_are_an_operational_and_a_business_dashboard() -> None:
    """Both dashboards exist, with unique uids."""
    uids = [json.loads(path.read_text())["uid"] for path in DASHBOARDS]
    assert sorted(uids) == ["salesflow-business", "salesflow-operations"]


def test_every_panel_queries_only_exported_or_recorded_metrics(dashboard: dict[str, Any]) -> None:
    """Each query names only metrics the services export or rules.yml records."""
    for expr in expressions(dashboard):
        names = selected_names(expr)
        assert names, f"no metric in {expr!r}"
        unknown = [name for name in names if name not in known()]
        assert unknown == [], f"{expr!r} uses {unknown}"


def test_the_metric_check_catches_a_misspelt_metric() -> None:
    """The check bites: a misspelt metric is reported as unknown."""
    names = selected_names("sum(rate(salesflow_routing_assignment_total[$__rate_interval]))")
    assert names == ["salesflow_routing_assignment_total"] and names[0] not in known()


def test_every_panel_uses_the_provisioned_datasource(dashboard: dict[str, Any]) -> None:
    """Panels and targets name the Prometheus datasource by the uid provisioning gives it."""
    [source] = load_yaml(DEPLOY / "grafana/provisioning/datasources/prometheus.yml")["datasources"]
    for panel in panels(dashboard):
        assert panel["datasource"] == {"type": "prometheus", "uid": source["uid"]}
        assert all(target["datasource"]["uid"] == source["uid"] for target in panel["targets"])
        assert panel["targets"], panel["title"]


def test_panels_have_unique_ids_and_fit_the_grid(dashboard: dict[str, Any]) -> None:
    """Panel ids are unique and every panel lies within Grafana's 24-column grid."""
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24


def test_operational_dashboard_covers_red_lag_rebalances_dlq_and_redis() -> None:
    """The operational dashboard shows rate, errors, duration, lag, rebalances, DLQ and Redis latency."""
    ops = json.loads((DEPLOY / "grafana/dashboards/salesflow-operations.json").read_text())
    used = {name for expr in expressions(ops) for name in selected_names(expr)}
    assert {
        "salesflow:events_in:rate5m",
        "salesflow:events_failed:rate5m",
        "salesflow:processing_seconds:p99_5m",
        "salesflow:consumer_lag_records:sum",
        "salesflow:rebalances:max_increase1h",
        "salesflow:dead_letters:rate5m",
        "salesflow:redis_command_seconds:p99_5m",
    } <= used


def test_business_dashboard_covers_funnel_speed_pipeline_forecast_and_reps() -> None:
    """The business dashboard shows the funnel, speed to lead, pipeline, forecast, won and reps."""
    biz = json.loads((DEPLOY / "grafana/dashboards/salesflow-business.json").read_text())
    used = {name for expr in expressions(biz) for name in selected_names(expr)}
    assert {
        "salesflow_analytics_funnel_leads",
        "salesflow_routing_capture_to_assignment_seconds_bucket",
        "salesflow_analytics_pipeline_amount",
        "salesflow_analytics_pipeline_weighted_amount",
        "salesflow_analytics_won_amount",
        "salesflow_analytics_rep_open_leads",
    } <= used
