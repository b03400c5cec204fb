"""docker-compose.yml: valid against the Compose specification, and wired the way the stack needs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.support import PORTS, ROOT, SERVICES, load_yaml, run, tool

pytestmark = pytest.mark.deploy

INFRA = ("kafka", "schema-registry", "redis", "mailpit", "prometheus", "grafana")


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = load_yaml(ROOT / "docker-compose.yml")
    return loaded


def validate(path: Path) -> str:
    result = run(tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(path))
    return "" if result.returncode == 0 else result.stdout + result.stderr


def test_compose_file_matches_the_compose_spec() -> None:
    """check-jsonschema's vendored Compose specification accepts the file."""
    assert validate(ROOT / "docker-compose.yml") == ""


def test_schema_check_rejects_a_bad_dependency_condition(tmp_path: Path) -> None:
    """The schema check is real: an unknown depends_on condition fails it."""
    bad = tmp_path / "docker-compose.yml"
    bad.write_text((ROOT / "docker-compose.yml").read_text().replace("service_healthy", "service_happy", 1))
    assert validate(bad) != ""


def test_every_service_and_its_infrastructure_is_in_the_stack() -> None:
    """The seven services and Kafka, registry, Redis, mailpit, Prometheus and Grafana all run."""
    assert set(SERVICES) | set(INFRA) <= set(compose()["services"])


def test_kafka_runs_in_kraft_mode_from_the_official_image() -> None:
    """Kafka is apache/kafka pinned by version, broker and controller in one node, no ZooKeeper."""
    kafka = compose()["services"]["kafka"]
    image, _, version = kafka["image"].partition(":")
    assert image == "apache/kafka" and version[0].isdigit()
    assert kafka["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert "zookeeper" not in compose()["services"]


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_builds_from_its_dockerfile_and_waits_for_healthy_dependencies(service: str) -> None:
    """Each service builds from services/<name>/Dockerfile and starts after healthy Kafka and Redis."""
    spec = compose()["services"][service]
    assert spec["build"] == {"context": ".", "dockerfile": f"services/{service}/Dockerfile"}
    assert (ROOT / spec["build"]["dockerfile"]).is_file()
    assert spec["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert spec["depends_on"]["redis"]["condition"] == "service_healthy"
    assert spec["depends_on"]["topics"]["condition"] == "service_completed_successfully"
    assert f"{PORTS[service]}:{PORTS[service]}" in spec["ports"]


@pytest.mark.parametrize("name", INFRA)
def test_infrastructure_has_a_healthcheck(name: str) -> None:
    """Everything the services wait on reports health."""
    assert compose()["services"][name]["healthcheck"]["test"]


def test_every_dependency_condition_names_a_service_with_a_healthcheck() -> None:
    """service_healthy is only used on services that define (or build in) a health check."""
    services = compose()["services"]
    for spec in services.values():
        for dependency, condition in spec.get("depends_on", {}).items():
            if condition["condition"] == "service_healthy":
                target = services[dependency]
                assert "healthcheck" in target or "build" in target, dependency


def test_prometheus_scrapes_every_service_on_its_port() -> None:
    """The compose Prometheus scrapes each service's port with a matching service label."""
    config = load_yaml(ROOT / "deploy/prometheus/prometheus.yml")
    targets = {
        static["labels"]["service"]: static["targets"]
        for job in config["scrape_configs"]
        for static in job["static_configs"]
    }
    assert targets == {s: [f"{s}:{p}"] for s, p in PORTS.items()}


def test_prometheus_and_grafana_mount_the_files_they_are_checked_against() -> None:
    """Prometheus loads deploy/prometheus/rules.yml; Grafana loads the provisioned dashboards."""
    services = compose()["services"]
    assert "./deploy/prometheus/rules.yml:/etc/prometheus/rules.yml:ro" in services["prometheus"]["volumes"]
    provider = yaml.safe_load((ROOT / "deploy/grafana/provisioning/dashboards/salesflow.yml").read_text())
    path = provider["providers"][0]["options"]["path"]
    assert f"./deploy/grafana/dashboards:{path}:ro" in services["grafana"]["volumes"]
