"""The service images: hadolint on every Dockerfile, and the shape each one must keep."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.deploy.support import PORTS, ROOT, SERVICES, run, tool

pytestmark = pytest.mark.deploy

BASE = re.compile(r"^FROM python:3\.11\.\d+-slim-bookworm(?: AS \w+)?$", re.MULTILINE)


def dockerfile(service: str) -> str:
    return (ROOT / "services" / service / "Dockerfile").read_text(encoding="utf-8")


def final_stage(text: str) -> str:
    return text[text.rindex("\nFROM ") :]


def test_hadolint_passes_every_dockerfile() -> None:
    """hadolint reports nothing for any service's Dockerfile."""
    paths = [str(ROOT / "services" / s / "Dockerfile") for s in SERVICES]
    result = run(tool("hadolint"), "--failure-threshold", "info", *paths)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_catches_an_unpinned_base(tmp_path: Path) -> None:
    """The linter run is real: an unpinned base image is reported."""
    bad = tmp_path / "Dockerfile"
    bad.write_text(dockerfile("ingest").replace("python:3.11.13-slim-bookworm", "python:latest"))
    assert run(tool("hadolint"), str(bad)).returncode != 0


@pytest.mark.parametrize("service", SERVICES)
def test_two_stages_on_a_pinned_slim_base(service: str) -> None:
    """Both stages use the same python:3.11.x-slim-bookworm, pinned by version."""
    text = dockerfile(service)
    bases = BASE.findall(text)
    assert len(re.findall(r"^FROM ", text, re.MULTILINE)) == 2
    assert len(bases) == 2, text


@pytest.mark.parametrize("service", SERVICES)
def test_dependencies_come_from_the_lock_file(service: str) -> None:
    """The build stage installs the locked requirements and nothing else."""
    text = dockerfile(service)
    assert "COPY requirements.lock" in text
    assert re.search(r"pip install --no-deps -r \S*requirements\.lock", text)


@pytest.mark.parametrize("service", SERVICES)
def test_final_stage_runs_the_service_as_non_root(service: str) -> None:
    """The final stage has no compilers, runs as uid 10001 and starts python -m services.<name>."""
    final = final_stage(dockerfile(service))
    assert "build-essential" not in final and "apt-get install" not in final
    assert re.search(r"^USER 10001:10001$", final, re.MULTILINE)
    assert f'ENTRYPOINT ["python", "-m", "services.{service}"]' in final
    assert f"COPY services/{service}/ services/{service}/" in final


@pytest.mark.parametrize("service", SERVICES)
def test_healthcheck_and_port_match_the_service(service: str) -> None:
    """HEALTHCHECK fetches /healthz on the service's own port with urllib; EXPOSE names that port."""
    final = final_stage(dockerfile(service))
    port = PORTS[service]
    assert re.search(rf"^EXPOSE {port}$", final, re.MULTILINE)
    healthcheck = final[final.index("HEALTHCHECK") :]
    assert f"urllib.request.urlopen('http://127.0.0.1:{port}/healthz'" in healthcheck
    assert "curl" not in final


@pytest.mark.parametrize("service", SERVICES)
def test_oci_labels(service: str) -> None:
    """The image carries OCI title, description, source and licence labels."""
    final = final_stage(dockerfile(service))
    for label in ("title", "description", "source", "licenses"):
        assert f"org.opencontainers.image.{label}=" in final
    assert f'org.opencontainers.image.title="salesflow-{service}"' in final
