"""The plans name every stage the bench defines, and a plan cut to some stages runs only those."""

from __future__ import annotations

import pytest

from bench.plan import FULL, QUICK, STAGES, Plan
from bench.stages import downstream_stages, relay_stages, spine_stages


def test_the_stage_names_are_the_stages_the_bench_defines() -> None:
    defined = [s.name for s in (*relay_stages(), *spine_stages({}), *downstream_stages())]
    assert tuple(defined) == STAGES


@pytest.mark.parametrize("plan", [FULL, QUICK], ids=lambda p: p.name)
def test_each_plan_sizes_every_stage(plan: Plan) -> None:
    assert tuple(name for name, _ in plan.stage_events) == STAGES


def test_a_plan_cut_to_two_stages_runs_only_those_with_their_sizes() -> None:
    cut = FULL.only_stages(["nurture", "ingest-engagement"])
    assert [s for s in STAGES if cut.runs_stage(s)] == ["ingest-engagement", "nurture"]
    assert cut.events_for("nurture") == FULL.events_for("nurture")
    assert cut.loads == FULL.loads
