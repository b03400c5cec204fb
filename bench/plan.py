"""How much the bench does: runs per figure, backlog sizes, offered loads, durations.

Pure: two fixed plans, sized so the full run takes about 12-14 minutes on 2 cores (install included)
and --quick under 3.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

SECTIONS = ("ceiling", "stages", "end_to_end", "http", "scale")
STAGES = (
    "faust-relay",
    "runtime-relay",
    "ingest",
    "ingest-engagement",
    "scoring",
    "routing",
    "nurture",
    "nurture-steps",
    "analytics",
)


@dataclass(frozen=True)
class Plan:
    name: str
    runs: int
    ceiling_events: int
    stage_events: tuple[tuple[str, int], ...]
    loads: tuple[int, ...]
    engagement_per_lead: int
    load_seconds: float
    drain_seconds: float
    http_seconds: int
    http_connections: int
    scale_one_worker_seconds: float
    scale_backlog_seconds: float

    def events_for(self, stage: str) -> int:
        return dict(self.stage_events)[stage]

    def runs_stage(self, stage: str) -> bool:
        return stage in dict(self.stage_events)

    def only_stages(self, names: Iterable[str]) -> Plan:
        """This plan with the stages section cut to `names` (to measure one change quickly)."""
        wanted = set(names)
        return replace(self, stage_events=tuple((n, c) for n, c in self.stage_events if n in wanted))


FULL = Plan(
    name="full",
    runs=3,
    ceiling_events=20_000,
    stage_events=(
        ("faust-relay", 8000),
        ("runtime-relay", 6000),
        ("ingest", 3000),
        ("ingest-engagement", 3000),
        ("scoring", 3000),
        ("routing", 1500),
        ("nurture", 1500),
        ("nurture-steps", 1000),
        ("analytics", 3000),
    ),
    loads=(100, 200, 500, 1000),
    engagement_per_lead=2,
    load_seconds=10,
    drain_seconds=20,
    http_seconds=5,
    http_connections=8,
    scale_one_worker_seconds=6,
    scale_backlog_seconds=20,
)

QUICK = Plan(
    name="quick",
    runs=1,
    ceiling_events=5000,
    stage_events=(
        ("faust-relay", 3000),
        ("runtime-relay", 2000),
        ("ingest", 1000),
        ("ingest-engagement", 1000),
        ("scoring", 1000),
        ("routing", 500),
        ("nurture", 500),
        ("nurture-steps", 500),
        ("analytics", 1000),
    ),
    loads=(100, 300),
    engagement_per_lead=2,
    load_seconds=4,
    drain_seconds=10,
    http_seconds=3,
    http_connections=8,
    scale_one_worker_seconds=3,
    scale_backlog_seconds=15,
)


def scale_backlog(events_per_second: float, plan: Plan) -> int:
    """Enough records for one worker, the rebalance and two workers: sized from scoring's measured rate."""
    return max(2000, int(events_per_second * plan.scale_backlog_seconds))
