"""Fault-suite fixtures, its opt-in selection and the reconciliation table printed at the end.

The suite is long, so it runs only when asked for (`-m faults`, or a path inside tests/faults);
a plain `pytest` deselects it (never skips it silently: the summary says so).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.faults.reconcile import Reconciliation, format_table
from tests.integration.harness import Infra
from tools.processes import port_open

FAULTS_DIR = Path(__file__).resolve().parent
LEDGER = pytest.StashKey[list[Reconciliation]]()
DESELECTED = pytest.StashKey[int]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "faults: long fault-injection scenarios (make chaos)")
    config.stash[LEDGER] = []
    config.stash[DESELECTED] = 0


def _asked_for(config: pytest.Config) -> bool:
    if "faults" in (config.option.markexpr or ""):
        return True
    paths = (Path(arg.split("::")[0]).resolve() for arg in config.args)
    return any(path == FAULTS_DIR or FAULTS_DIR in path.parents for path in paths)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _asked_for(config):
        return
    ours = [item for item in items if FAULTS_DIR in Path(str(item.fspath)).parents]
    if ours:
        config.hook.pytest_deselected(items=ours)
        items[:] = [item for item in items if item not in ours]
        config.stash[DESELECTED] = len(ours)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    rows = config.stash.get(LEDGER, [])
    if rows:
        terminalreporter.section("reconciliation")
        terminalreporter.write_line(format_table(rows))
    if config.stash.get(DESELECTED, 0):
        terminalreporter.write_line(f"fault suite deselected ({config.stash[DESELECTED]} tests): run `make chaos`")


@pytest.fixture(scope="session")
def infra() -> Infra:
    """The local broker and Redis that `make dev-up` / `make test` start; the suite fails without them."""
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    host, _, port = bootstrap.split(",")[0].rpartition(":")
    if not port_open(host, int(port)) or not port_open("127.0.0.1", 6379):
        pytest.fail(f"no broker at {bootstrap} or no Redis at {redis_url}: start them with `make dev-up`")
    return Infra(bootstrap, redis_url)


@pytest.fixture
def record(request: pytest.FixtureRequest) -> Callable[[Reconciliation], Reconciliation]:
    """Adds a scenario's reconciliation to the table printed at the end of the run."""

    def add(result: Reconciliation) -> Reconciliation:
        request.config.stash[LEDGER].append(result)
        return result

    return add
