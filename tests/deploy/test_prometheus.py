"""Prometheus rules: promtool checks and unit tests, runbooks, the PrometheusRule copy, and a real server."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry, generate_latest

from shared.metrics import ServiceMetrics
from tests.deploy.support import (
    DEPLOY,
    ROOT,
    alerts,
    exported_metrics,
    load_yaml,
    recorded_names,
    rules_file,
    run,
    selected_names,
    tool,
)

pytestmark = pytest.mark.deploy

RULES = DEPLOY / "prometheus/rules.yml"
UNIT_TESTS = DEPLOY / "prometheus/tests/alerts_test.yml"
RUNBOOK_BASE = "https://github.com/salesflow/salesflow/blob/main/docs/operations.md#"


def test_promtool_checks_the_rules() -> None:
    """promtool check rules accepts rules.yml."""
    result = run(tool("promtool"), "check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_pass() -> None:
    """Every promtool unit test of the alerts passes."""
    result = run(tool("promtool"), "test", "rules", str(UNIT_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_fail_when_a_threshold_moves(tmp_path: Path) -> None:
    """The unit tests bite: loosening the DLQ alert's threshold makes them fail."""
    original = RULES.read_text()
    assert "salesflow:dead_letters:rate5m > 0" in original
    loosened = original.replace("salesflow:dead_letters:rate5m > 0", "salesflow:dead_letters:rate5m > 1")
    (tmp_path / "rules.yml").write_text(loosened)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests/alerts_test.yml").write_text(UNIT_TESTS.read_text())
    assert run(tool("promtool"), "test", "rules", str(tmp_path / "tests/alerts_test.yml")).returncode != 0


def test_every_alert_is_unit_tested_firing_and_not_firing() -> None:
    """Each alert has at least one promtool case that expects it and one that expects silence."""
    cases = [case for test in load_yaml(UNIT_TESTS)["tests"] for case in test.get("alert_rule_test", [])]
    for alert in alerts():
        mine = [case for case in cases if case["alertname"] == alert["alert"]]
        assert any(case.get("exp_alerts") for case in mine), f"{alert['alert']} never expected to fire"
        assert any(not case.get("exp_alerts") for case in mine), f"{alert['alert']} never expected silent"


def test_every_alert_links_its_runbook_section() -> None:
    """runbook_url points at a section of docs/operations.md named after the alert."""
    headings = set(re.findall(r"^## (\S+)$", (ROOT / "docs/operations.md").read_text(), re.MULTILINE))
    for alert in alerts():
        name = alert["alert"]
        assert alert["annotations"]["runbook_url"] == RUNBOOK_BASE + name.lower()
        assert name in headings, f"docs/operations.md has no section '## {name}'"


def test_every_alert_has_a_severity_summary_and_description() -> None:
    """An SRE gets a severity to route on and text that says what is wrong."""
    for alert in alerts():
        assert alert["labels"]["severity"] in {"critical", "warning"}
        assert alert["annotations"]["summary"] and alert["annotations"]["description"]


def test_the_alert_list_covers_the_operational_risks() -> None:
    """The alerts the issue asks for all exist."""
    names = {alert["alert"] for alert in alerts()}
    assert {
        "SalesflowConsumerLagHigh",
        "SalesflowServiceNotReady",
        "SalesflowDeadLetters",
        "SalesflowProcessingErrors",
        "SalesflowEventAgeHigh",
        "SalesflowSpeedToLeadBudgetBurnFast",
        "SalesflowSpeedToLeadBudgetBurnSlow",
        "SalesflowSmtpFailures",
        "SalesflowRedisErrors",
        "SalesflowRebalancesFrequent",
    } <= names


def test_prometheusrule_carries_exactly_the_rule_file_groups() -> None:
    """The PrometheusRule in deploy/k8s is the rule file, group for group."""
    rule = load_yaml(DEPLOY / "k8s/base/monitoring/prometheusrule.yaml")
    assert rule["kind"] == "PrometheusRule"
    assert rule["spec"]["groups"] == rules_file()["groups"], "run: python deploy/prometheus/render_prometheusrule.py"


def test_compose_prometheus_config_is_valid() -> None:
    """promtool accepts the docker-compose Prometheus configuration."""
    result = run(tool("promtool"), "check", "config", "--syntax-only", str(DEPLOY / "prometheus/prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def routing_handler() -> type[BaseHTTPRequestHandler]:
    """routing's metrics as the service exposes them; every scrape adds 9 fast and 1 slow lead."""
    registry = CollectorRegistry()
    metrics = ServiceMetrics.create("routing", registry)
    metrics.ready.set(1)
    latency = metrics.histogram(
        "capture_to_assignment_seconds", "Capture to assignment.", buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
    )
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with lock:
                for _ in range(9):
                    latency.observe(0.2)
                latency.observe(3.0)
                body = generate_latest(registry)
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture()
def exporter() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), routing_handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def query(base: str, path: str) -> Any:
    with urllib.request.urlopen(base + path, timeout=5) as response:
        return json.load(response)["data"]


def wait_for(base: str, path: str, ready: Any, deadline: float) -> Any:
    """Poll the Prometheus API until `ready(data)` or the deadline."""
    data: Any = None
    while time.monotonic() < deadline:
        try:
            data = query(base, path)
            if ready(data):
                return data
        except OSError:
            pass
        time.sleep(0.5)
    return data


def every_group_evaluated(data: Any) -> bool:
    """Prometheus reports a never-evaluated group with the zero time, year 0001."""
    return all(not group["lastEvaluation"].startswith("0001") for group in data["groups"])


def test_real_prometheus_loads_the_rules_and_records_from_real_metrics(tmp_path: Path, exporter: int) -> None:
    """Debian's prometheus loads every rule group healthy and records speed to lead from real exposition."""
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(RULES)],
        "scrape_configs": [
            {
                "job_name": "salesflow",
                "static_configs": [{"targets": [f"127.0.0.1:{exporter}"], "labels": {"service": "routing"}}],
            }
        ],
    }
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    process = subprocess.Popen(
        [
            tool("prometheus"),
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/api/v1/"
    try:
        deadline = time.monotonic() + 30
        groups = wait_for(base, "rules", every_group_evaluated, deadline)["groups"]
        ratio = wait_for(
            base, "query?query=salesflow:speed_to_lead:error_ratio_rate5m", lambda d: bool(d["result"]), deadline
        )
        ready = query(base, "query?query=salesflow:ready:min")
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert {g["name"] for g in groups} == {g["name"] for g in rules_file()["groups"]}
    broken = [(r["name"], r["lastError"]) for g in groups for r in g["rules"] if r["health"] == "err"]
    assert broken == []
    assert ratio["result"], "speed-to-lead error ratio was never recorded"
    assert float(ratio["result"][0]["value"][1]) == pytest.approx(0.1, abs=0.02)
    assert ready["result"][0]["metric"] == {"__name__": "salesflow:ready:min", "service": "routing"}


def test_rules_select_only_exported_or_recorded_metrics() -> None:
    """Every selector in rules.yml names a real metric, and every __name__ regex matches one."""
    known = exported_metrics() | recorded_names()
    for group in rules_file()["groups"]:
        for rule in group["rules"]:
            for name in selected_names(rule["expr"]):
                if name in known:
                    continue
                assert any(re.fullmatch(name, metric) for metric in known), f"{name!r} in {rule['expr']!r}"
