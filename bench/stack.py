"""The bench's processes: the broker and Redis it uses or starts, and services on a private namespace.

Each measurement gets its own topic prefix, consumer groups, Redis keys and data dir, so runs
never see each other's records; nothing here decides what a figure means.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka.admin import AdminClient

from bench.procstat import ProcSample, sample
from services.routing.roster import load_roster
from shared.cli import create_topics
from shared.config import LOCAL_BOOTSTRAP, LOCAL_REDIS, KafkaSettings
from shared.topics import TOPICS
from tools.processes import port_open, wait_for_port
from tools.redis_keys import delete_prefixed
from tools.reps import DEMO_ROSTER, publish_reps

ROOT = Path(__file__).resolve().parents[1]
RUN_DIR = ROOT / ".local" / "bench"
API_KEY = "bench-local-api-key-0001"


@dataclass(frozen=True)
class Infra:
    """Where the broker and Redis are, and which of them the bench started (and so stops)."""

    bootstrap: str
    redis_url: str
    started: tuple[str, ...] = ()

    @property
    def kafka(self) -> KafkaSettings:
        return KafkaSettings.from_env({"KAFKA_BOOTSTRAP_SERVERS": self.bootstrap})


def ensure_infra() -> Infra:
    """Use the broker and Redis named by the environment, or start the local ones (Tansu, redis-server)."""
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", LOCAL_BOOTSTRAP)
    redis_url = os.environ.get("REDIS_URL", LOCAL_REDIS)
    missing = _missing_local(bootstrap)
    if missing:
        # devstack reads its run dir at import: point it at the bench's, so stopping ours stops only ours.
        os.environ["SALESFLOW_RUN_DIR"] = str(RUN_DIR)
        from tools import devstack

        if "redis" in missing:
            devstack.ensure_redis()
        if "broker" in missing:
            devstack.ensure_broker()
    return Infra(bootstrap, redis_url, tuple(missing))


def _missing_local(bootstrap: str) -> list[str]:
    missing = []
    if "REDIS_URL" not in os.environ and not port_open("127.0.0.1", 6379):
        missing.append("redis")
    if bootstrap == LOCAL_BOOTSTRAP and not port_open("127.0.0.1", 9092):
        missing.append("broker")
    return missing


def stop_infra(infra: Infra) -> None:
    from tools.processes import stop

    for name in infra.started:
        stop(RUN_DIR / "pids" / f"{name}.pid")


def admin_client(infra: Infra) -> AdminClient:
    config: dict[str, str | int | float | bool] = dict(infra.kafka.confluent_config())
    return AdminClient(config)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServiceProcess:
    """One service worker process started with `python -m services.<name>`."""

    name: str
    port: int
    env: dict[str, str]
    log_path: Path
    module: str = ""  # what `python -m` runs; services.<name> by default
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - owned by the child process
        self.process = subprocess.Popen(
            [sys.executable, "-m", self.module or f"services.{self.name}"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError(f"{self.name} was not started")
        return self.process.pid

    def sample(self) -> ProcSample:
        self.check_alive()
        return sample(self.pid)

    def check_alive(self) -> None:
        """RuntimeError naming the log once the process has exited."""
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.process.returncode}; see {self.log_path}")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.url("/readyz"), timeout=2) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def wait_ready(self, seconds: float = 90) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.check_alive()
            if self.ready():
                return
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready after {seconds:.0f} s; see {self.log_path}")

    def stop(self) -> None:
        """SIGTERM the process group; SIGKILL after 15 s."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


@dataclass
class Namespace:
    """A private prefix on the shared broker and Redis, with its topics and its service processes."""

    infra: Infra
    label: str
    extra_env: dict[str, str] = field(default_factory=dict)
    prefix: str = field(default_factory=lambda: f"b{uuid.uuid4().hex[:10]}.")
    services: list[ServiceProcess] = field(default_factory=list)
    helpers: list[subprocess.Popen[bytes]] = field(default_factory=list)  # an SMTP server: stopped last

    def __post_init__(self) -> None:
        self.workdir = RUN_DIR / "runs" / f"{self.label}-{self.prefix.rstrip('.')}"
        self.workdir.mkdir(parents=True, exist_ok=True)
        create_topics(admin_client(self.infra), TOPICS, prefix=self.prefix)

    def topic(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def env_for(self, name: str, port: int, worker: int) -> dict[str, str]:
        return {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": self.infra.bootstrap,
            "REDIS_URL": self.infra.redis_url,
            "SALESFLOW_TOPIC_PREFIX": self.prefix,
            "SALESFLOW_REDIS_PREFIX": f"{self.prefix}sf:",
            # One data dir per worker: two workers of one service must not share a RocksDB directory.
            "SALESFLOW_DATA_DIR": str(self.workdir / f"data-{name}-{worker}"),
            f"{name.upper()}_PORT": str(port),
            "SALESFLOW_API_KEYS": API_KEY,
            # The shipped level: the canonical log line per event is part of what an event costs.
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }

    def start(self, name: str, *, wait: bool = True, module: str = "") -> ServiceProcess:
        worker = sum(1 for s in self.services if s.name == name)
        port = free_port()
        log = self.workdir / f"{name}-{worker}.log"
        service = ServiceProcess(name, port, self.env_for(name, port, worker), log, module)
        service.start()
        self.services.append(service)
        if wait:
            service.wait_ready()
        return service

    def seed_roster(self) -> None:
        """The demo sales team on this namespace's reps.roster, for routing."""
        env = {"KAFKA_BOOTSTRAP_SERVERS": self.infra.bootstrap}
        publish_reps(load_roster(DEMO_ROSTER), prefix=self.prefix, env=env)

    def add_process(self, helper: subprocess.Popen[bytes]) -> None:
        """A process the services need (an SMTP server), killed once they have stopped."""
        self.helpers.append(helper)

    def close(self) -> None:
        """Stop the services and their helpers, drop their Redis keys and data dirs; the logs stay for a look."""
        for service in reversed(self.services):
            service.stop()
        for helper in self.helpers:
            helper.kill()
            helper.wait(10)
        delete_prefixed(self.infra.redis_url, self.prefix)
        for data_dir in self.workdir.glob("data-*"):
            shutil.rmtree(data_dir, ignore_errors=True)


def prune_old_runs(older_than_seconds: float = 86_400) -> None:
    """Remove namespace dirs not touched for a day. Only old ones: a soak or a run started in
    another shell is using its own dirs right now, and its services die if they vanish."""
    cutoff = time.time() - older_than_seconds
    for workdir in (RUN_DIR / "runs").glob("*"):
        if workdir.stat().st_mtime < cutoff:
            shutil.rmtree(workdir, ignore_errors=True)


BENCH_MQL_THRESHOLD = 35


def scoring_env() -> dict[str, str]:
    """scoring's shipped rules with the MQL threshold at 35, so about a fifth of the workload qualifies.

    With the shipped 60, fit alone qualifies none of the workload's leads and nothing reaches routing.
    """
    from services.scoring.rules import default_rules_path

    text = default_rules_path().read_text()
    marker = "mql_threshold: 60"
    if marker not in text:
        raise RuntimeError(f"{default_rules_path()} no longer holds {marker!r}; update bench.stack.scoring_env")
    path = RUN_DIR / "scoring-rules.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.replace(marker, f"mql_threshold: {BENCH_MQL_THRESHOLD}"))
    return {"SCORING_RULES_PATH": str(path)}


def start_smtp_sink(namespace: Namespace, port: int) -> subprocess.Popen[bytes]:
    """A real SMTP server (tools.smtp_sink) on `port`, keeping the mail in the namespace's workdir."""
    argv = [
        sys.executable,
        "-m",
        "tools.smtp_sink",
        "serve",
        "--dir",
        str(namespace.workdir / "mail"),
        "--port",
        str(port),
    ]
    log = open(namespace.workdir / "smtp.log", "ab")  # noqa: SIM115 - owned by the child process
    sink = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    if not wait_for_port("127.0.0.1", port, 10):
        sink.kill()
        raise RuntimeError(f"the SMTP sink did not start; see {namespace.workdir / 'smtp.log'}")
    return sink
