"""Workers killed with SIGKILL under load: nothing lost, nothing assigned twice, tables equal a recount."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.faults.pipeline import Load, Readback, extra_worker, profiles_changelog, recount_mismatches, spine_stack
from tests.faults.reconcile import Reconciliation, reconcile
from tests.integration.harness import Infra, ServiceProcess

pytestmark = pytest.mark.faults
Record = Callable[[Reconciliation], Reconciliation]


def assert_reconciled(result: Reconciliation) -> None:
    assert result.events_in > 100, "the load never ran"
    assert (result.lost, result.unseen) == (0, 0), f"missing inputs: {result.missing[:10]}"
    assert result.duplicates == 0, "an input got two different outcomes"
    assert result.out_of_order == 0


def rebalances(worker: ServiceProcess) -> float:
    with urllib.request.urlopen(worker.url("/metrics"), timeout=5) as response:
        lines = response.read().decode().splitlines()
    return sum(float(line.split()[-1]) for line in lines if line.startswith("salesflow_scoring_rebalances_total"))


CONSISTENCY = (
    "intermittent: a scoring worker killed under load may fail to restart with ConsistencyError: the local broker "
    "answers ListOffsets with the last batch's base offset + 1 (test_local_broker_offsets.py), so after a "
    "multi-record changelog batch the persisted offset is above its end offset (docs/reliability.md, defect 2)"
)
RACE = (
    "scoring's two agents race on one lead: on_captured and on_engagement each load the profile, await a send and "
    "store, so the later store drops the other's update (services/scoring/app.py Scoring._rescore)"
)


@pytest.mark.parametrize(
    "name",
    ["routing", pytest.param("scoring", marks=pytest.mark.xfail(strict=False, reason=CONSISTENCY))],
)
def test_sigkilled_worker_loses_nothing_and_assigns_once(
    infra: Infra, tmp_path: Path, record: Record, name: str
) -> None:
    """kill -9 of one spine worker three times under load: every lead accounted for once, in order."""
    stack = spine_stack(infra, tmp_path)
    try:
        stack.start("ingest", "scoring", "routing")
        load = Load(stack, per_second=15)
        load.start()
        for _ in range(3):
            time.sleep(4)
            stack.services[name].kill()
            stack.restart(name)
        time.sleep(3)
        sent = load.stop()
        reader = Readback(stack)
        result = record(reconcile(f"kill -9 {name} x3", sent, reader.wait_for(sent, 120)))
        reader.close()
        assert_reconciled(result)
    finally:
        stack.close()


def test_scoring_table_equals_a_recount_of_the_topics(infra: Infra, tmp_path: Path) -> None:
    """With leads and their engagement arriving together, each stored profile holds every captured engagement."""
    stack = spine_stack(infra, tmp_path)
    try:
        stack.start("ingest", "scoring", "routing")
        load = Load(stack, per_second=20, mix=("hot",), engagement_every=1)
        load.start()
        time.sleep(8)
        sent = load.stop()
        reader = Readback(stack)
        reader.wait_for(sent, 60)
        # scoring stores a profile only after the broker acknowledged its outputs, so the
        # changelog may trail the outputs just seen by a moment: wait for it to catch up.
        deadline = time.monotonic() + 30
        while (wrong := recount_mismatches(profiles_changelog(stack), reader)) and time.monotonic() < deadline:
            time.sleep(1)
        assert wrong == []
        reader.close()
    finally:
        stack.close()


def test_partitions_move_to_the_surviving_scoring_worker(infra: Infra, tmp_path: Path, record: Record) -> None:
    """Two scoring workers in one group, one killed: the other takes its partitions and nothing is lost."""
    stack = spine_stack(infra, tmp_path)
    try:
        stack.start("ingest", "scoring", "routing")
        second = extra_worker(stack, "scoring", "b")
        second.wait_ready()
        survivor = stack.services["scoring"]
        load = Load(stack, per_second=15)
        load.start()
        time.sleep(6)
        before = rebalances(survivor)
        second.kill()
        time.sleep(10)
        sent = load.stop()
        reader = Readback(stack)
        result = record(reconcile("2 scoring workers, 1 killed", sent, reader.wait_for(sent, 120)))
        reader.close()
        assert rebalances(survivor) > before, "the survivor never rebalanced"
        assert_reconciled(result)
    finally:
        stack.close()
