"""Real processes against the real broker and Redis: start services, produce, consume, wait.

Every test gets its own topic prefix, consumer groups and Redis key prefix, so tests never see
each other's records.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from prometheus_client.parser import text_string_to_metric_families

from shared.avro_codec import AvroCodec, DecodeError, create_codec
from shared.cli import create_topics
from shared.config import KafkaSettings
from shared.topics import TOPICS
from tools.redis_keys import delete_prefixed

ROOT = Path(__file__).resolve().parents[2]
SERVICE_MODULES = {"ingest", "scoring", "routing", "nurture", "opportunity", "proposal", "analytics"}
API_KEY = "integration-test-key"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Infra:
    bootstrap: str
    redis_url: str

    @property
    def kafka(self) -> KafkaSettings:
        return KafkaSettings.from_env({"KAFKA_BOOTSTRAP_SERVERS": self.bootstrap})


@dataclass
class ServiceProcess:
    name: str
    port: int
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - owned by the child process
        self.process = subprocess.Popen(
            [sys.executable, "-m", f"services.{self.name}"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self) -> None:
        """SIGKILL: no shutdown, no final commit, no table flush."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def wait_ready(self, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process and self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url("/readyz"), timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.3)
        raise AssertionError(f"{self.name} not ready after {seconds} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class Stack:
    """One test's namespace on the shared broker and Redis, and the services it started."""

    infra: Infra
    workdir: Path
    prefix: str = field(default_factory=lambda: f"t{uuid.uuid4().hex[:10]}.")
    services: dict[str, ServiceProcess] = field(default_factory=dict)
    codec: AvroCodec = field(default_factory=create_codec)
    extra_env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        admin = AdminClient(self.infra.kafka.confluent_config())
        create_topics(admin, TOPICS, prefix=self.prefix)
        # murmur2 is the Java client's (and aiokafka's) partitioner: keyed records land where the services put them.
        self._producer = Producer(
            self.infra.kafka.confluent_config() | {"enable.idempotence": True, "partitioner": "murmur2_random"}
        )

    def topic(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def env_for(self, name: str, port: int) -> dict[str, str]:
        return {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": self.infra.bootstrap,
            "REDIS_URL": self.infra.redis_url,
            "SALESFLOW_TOPIC_PREFIX": self.prefix,
            "SALESFLOW_REDIS_PREFIX": f"{self.prefix}sf:",
            "SALESFLOW_DATA_DIR": str(self.workdir / "data"),
            f"{name.upper()}_PORT": str(port),
            "SALESFLOW_API_KEYS": API_KEY,
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }

    def start(self, *names: str, wait: bool = True) -> None:
        for name in names:
            port = free_port()
            service = ServiceProcess(name, port, self.env_for(name, port), self.workdir / f"{name}.log")
            service.start()
            self.services[name] = service
        if wait:
            for name in names:
                self.services[name].wait_ready()

    def restart(self, name: str) -> None:
        service = self.services[name]
        service.start()
        service.wait_ready()

    def close(self) -> None:
        for service in self.services.values():
            service.stop()
        self._producer.flush(10)
        delete_prefixed(self.infra.redis_url, self.prefix)

    def produce(self, topic: str, record: str, value: dict[str, Any], key: str | None = None) -> None:
        self.produce_raw(topic, self.codec.encode(record, value), key)

    def produce_many(
        self, topic: str, record: str, values: list[dict[str, Any]], key_by: str = "", partition: int | None = None
    ) -> None:
        """A burst: every record handed to the producer before one flush, so they batch; each keyed
        by its `key_by` field when given, all on `partition` when given."""
        placed = {} if partition is None else {"partition": partition}
        for value in values:
            key = str(value[key_by]).encode() if key_by else None
            self._producer.produce(self.topic(topic), self.codec.encode(record, value), key=key, **placed)
        self._producer.flush(30)

    def produce_raw(self, topic: str, data: bytes, key: str | None = None) -> None:
        self._producer.produce(self.topic(topic), data, key=key.encode() if key else None)
        self._producer.flush(10)

    def consumer(self, *topics: str) -> TopicReader:
        return TopicReader(self, topics)


class TopicReader:
    """Reads prefixed topics from the beginning, decoding values; keeps everything it saw."""

    def __init__(self, stack: Stack, topics: Iterable[str]) -> None:
        self.stack = stack
        self.consumer = Consumer(
            stack.infra.kafka.confluent_config()
            | {
                "group.id": f"{stack.prefix}reader-{uuid.uuid4().hex[:6]}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
            }
        )
        # Assign every partition from the start: no group join to wait for, nothing missed.
        names = [stack.topic(t) for t in topics]
        metadata = self.consumer.list_topics(timeout=10).topics
        self.consumer.assign(
            [TopicPartition(name, p, OFFSET_BEGINNING) for name in names for p in metadata[name].partitions]
        )
        self.seen: list[tuple[str, Any, list[tuple[str, bytes]]]] = []

    def poll_until(
        self, done: Callable[[list[tuple[str, Any, list[tuple[str, bytes]]]]], bool], seconds: float = 30
    ) -> list[tuple[str, Any, list[tuple[str, bytes]]]]:
        deadline = time.monotonic() + seconds
        while not done(self.seen) and time.monotonic() < deadline:
            message = self.consumer.poll(0.3)
            if message is None or message.error():
                continue
            topic = message.topic().removeprefix(self.stack.prefix)
            try:
                value: Any = self.stack.codec.decode(message.value())[1]
            except DecodeError:
                value = message.value()
            self.seen.append((topic, value, list(message.headers() or [])))
        return self.seen

    def values(self, topic: str) -> list[Any]:
        return [value for t, value, _ in self.seen if t == topic]

    def close(self) -> None:
        self.consumer.close()


def metrics(service: ServiceProcess) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The service's /metrics now: each sample's value by its name and sorted labels."""
    with urllib.request.urlopen(service.url("/metrics"), timeout=10) as response:
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
