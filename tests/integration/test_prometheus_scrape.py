"""A real Prometheus (Debian's) scrapes every running service and loads our rules without errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.harness import API_KEY, Stack, free_port

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy/prometheus/rules.yml"
SERVICES = ("ingest", "scoring", "routing", "nurture", "opportunity", "proposal", "analytics")


def prometheus_binary() -> str:
    found = shutil.which("prometheus") or shutil.which("prometheus", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail("prometheus is not installed: apt-get install prometheus (make tools does it)", pytrace=False)
    return found


def api(base: str, path: str, **params: str) -> Any:
    url = f"{base}{path}?{urllib.parse.urlencode(params)}" if params else f"{base}{path}"
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)["data"]


def eventually(read: Any, ready: Any, seconds: float = 45) -> Any:
    deadline, value = time.monotonic() + seconds, None
    while time.monotonic() < deadline:
        try:
            value = read()
            if ready(value):
                return value
        except OSError:
            pass
        time.sleep(0.5)
    return value


def test_prometheus_scrapes_every_service_and_evaluates_the_rules(stack: Stack, tmp_path: Path) -> None:
    """Every service's /metrics is up in Prometheus with its own metrics, and every rule is healthy."""
    stack.start(*SERVICES)
    request = urllib.request.Request(
        stack.services["ingest"].url("/v1/leads"),
        headers={"Authorization": f"Bearer {API_KEY}"},
        data=json.dumps({"source": "api", "email": "metrics@acme.example"}).encode(),
    )
    urllib.request.urlopen(request, timeout=10).close()
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(RULES)],
        "scrape_configs": [
            {
                "job_name": name,
                "static_configs": [
                    {"targets": [f"127.0.0.1:{stack.services[name].port}"], "labels": {"service": name}}
                ],
            }
            for name in SERVICES
        ],
    }
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    process = subprocess.Popen(
        [
            prometheus_binary(),
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/api/v1/"
    try:
        targets = eventually(
            lambda: api(base, "targets")["activeTargets"],
            lambda t: len(t) == len(SERVICES) and all(x["health"] == "up" for x in t),
        )
        per_service = {
            name: eventually(
                lambda n=name: api(base, "query", query=f'count({{__name__=~"salesflow_{n}_.+"}})')["result"], bool
            )
            for name in SERVICES
        }
        ingested = eventually(lambda: api(base, "query", query="sum(salesflow_ingest_leads_total)")["result"], bool)
        groups = eventually(
            lambda: api(base, "rules")["groups"],
            lambda g: g and all(not x["lastEvaluation"].startswith("0001") for x in g),
        )
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert {t["labels"]["service"]: t["health"] for t in targets} == dict.fromkeys(SERVICES, "up")
    assert all(per_service.values()), (
        f"services without metrics in Prometheus: {[n for n, r in per_service.items() if not r]}"
    )
    assert float(ingested[0]["value"][1]) >= 1
    broken = [(r["name"], r.get("lastError")) for g in groups for r in g["rules"] if r["health"] == "err"]
    assert groups and not broken
