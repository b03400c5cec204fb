"""Integration fixtures: the real broker and Redis, chosen once per session.

With a Docker engine, testcontainers starts Apache Kafka and Redis; without one, the tests use
the local broker and Redis that `make test` started. They never silently skip: no broker, no run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.harness import Infra, Stack
from tools.processes import port_open


def docker_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=2).ping()
    except Exception:
        return False
    return True


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    if os.environ.get("SALESFLOW_TESTCONTAINERS", "auto") != "off" and docker_answers():
        from testcontainers.kafka import KafkaContainer
        from testcontainers.redis import RedisContainer

        with KafkaContainer("apache/kafka:3.9.1").with_kraft() as kafka, RedisContainer("redis:7.4") as redis:
            host, port = redis.get_container_host_ip(), redis.get_exposed_port(6379)
            yield Infra(kafka.get_bootstrap_server(), f"redis://{host}:{port}/0")
        return
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    host, _, port = bootstrap.split(",")[0].rpartition(":")
    if not port_open(host, int(port)) or (not port_open("127.0.0.1", 6379) and "REDIS_URL" not in os.environ):
        pytest.fail(
            f"no broker at {bootstrap} or no Redis at {redis_url}: run the tests with `make test`, which starts both"
        )
    yield Infra(bootstrap, redis_url)


@pytest.fixture
def stack(infra: Infra, tmp_path: Path) -> Iterator[Stack]:
    stack = Stack(infra, tmp_path)
    yield stack
    stack.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)
