"""A worker whose broker is gone still stops promptly on SIGTERM, on a private broker.

aiokafka's consumer stop let a fetch's cancellation escape when the broker was gone, and the
worker then waited out mode's 60 s shutdown timeout: past Kubernetes' grace period, so every pod
stopped during a broker outage was killed (shared/group_consumer.py).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.faults.test_broker_restart import PrivateBroker
from tests.integration.harness import Infra, Stack, free_port

pytestmark = pytest.mark.faults
# Well under mode's 60 s shutdown timeout, which is what a worker hit without the fix.
STOP_WITHIN_SECONDS = 30


@pytest.mark.parametrize("service", ["ingest", "scoring"])
def test_sigterm_stops_a_worker_whose_broker_is_gone(service: str, tmp_path: Path) -> None:
    broker = PrivateBroker(free_port(), tmp_path / "tansu.log")
    broker.start()
    stack = Stack(Infra(broker.bootstrap, os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")), tmp_path)
    stack.extra_env["SALESFLOW_LOCAL_BROKER"] = "true"
    try:
        stack.start(service)
        broker.stop()
        time.sleep(5)  # long enough for the consumer's fetches to fail and back off
        process = stack.services[service].process
        assert process is not None
        os.killpg(process.pid, signal.SIGTERM)
        try:
            code = process.wait(STOP_WITHIN_SECONDS)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"{service} still ran {STOP_WITHIN_SECONDS} s after SIGTERM:\n{stack.services[service].log_tail()}"
            ) from None
        assert code == 0, stack.services[service].log_tail()
        assert "Error while stopping child" not in stack.services[service].log_path.read_text()
    finally:
        stack.close()
        broker.stop()
