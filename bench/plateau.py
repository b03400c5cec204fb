"""`python -m bench.plateau STAGE`: one stage fed equal backlogs one after another, its memory after each.

The soak's ten minutes end while a service's tables, RocksDB's budget and the allocator are still
filling, so a rise there does not tell filling from a leak. Here the stage (as in the stages
section: its own input, started alone) handles `--rounds` backlogs of `--records` each; after a
round's outputs are all counted and 15 s have passed, its RSS and what its RocksDB budget holds
(from /metrics) are read. A service that only fills levels off; a leak keeps rising by the same
step every round. Writes plateau-<stage>.json and .md.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.soak import memory_sample
from bench.stack import ensure_infra, scoring_env, stop_infra
from bench.stages import downstream_stages, prepare, spine_stages, start_counted
from bench.stats import slope
from bench.topic_io import create_producer, produce_all
from shared.avro_codec import create_codec

RESULTS = Path(__file__).with_name("results")
SETTLE_SECONDS = 15
PER = 10_000  # growth is given per this many records


@dataclass(frozen=True)
class Round:
    """The stage after one more backlog: records handled so far, RSS and RocksDB's share (MiB)."""

    records: int
    rss_mib: float
    rocksdb_mib: float


def plateau_summary(rounds: list[Round]) -> dict[str, float]:
    """RSS first and last, and the growth per 10,000 records over the first and the second half of
    the rounds, of RSS and of RSS less RocksDB; the second half is what a leak would keep."""
    half = len(rounds) // 2

    def growth(part: list[Round], outside: bool) -> float:
        return round(slope([(r.records / PER, r.rss_mib - (r.rocksdb_mib if outside else 0)) for r in part]), 2)

    return {
        "first_mib": rounds[0].rss_mib,
        "last_mib": rounds[-1].rss_mib,
        "first_half_mib_per_10k": growth(rounds[: half + 1], outside=False),
        "second_half_mib_per_10k": growth(rounds[half:], outside=False),
        "outside_rocksdb_first_half_mib_per_10k": growth(rounds[: half + 1], outside=True),
        "outside_rocksdb_second_half_mib_per_10k": growth(rounds[half:], outside=True),
    }


def render_markdown(stage: str, rounds: list[Round], summary: dict[str, float]) -> str:
    lines = [
        f"# {stage}: memory after each of {len(rounds)} equal backlogs",
        "",
        "| round | records handled | RSS MiB | RocksDB MiB | RSS less RocksDB MiB |",
        "| ---: | ---: | ---: | ---: | ---: |",
        *(
            f"| {i} | {r.records:,} | {r.rss_mib:.1f} | {r.rocksdb_mib:.1f} | {r.rss_mib - r.rocksdb_mib:.1f} |"
            for i, r in enumerate(rounds, 1)
        ),
        "",
        f"Growth per {PER:,} records, first half of the rounds → second half: RSS "
        f"{summary['first_half_mib_per_10k']:+.2f} → {summary['second_half_mib_per_10k']:+.2f} MiB; "
        f"outside RocksDB {summary['outside_rocksdb_first_half_mib_per_10k']:+.2f} → "
        f"{summary['outside_rocksdb_second_half_mib_per_10k']:+.2f} MiB.",
        "",
    ]
    return "\n".join(lines)


def run_plateau(stage_name: str, records: int, rounds: int) -> list[Round]:
    infra = ensure_infra()
    stage = {s.name: s for s in (*spine_stages(scoring_env()), *downstream_stages())}[stage_name]
    namespace, expected = prepare(infra, stage, records, 100, f"plateau-{stage_name}")
    counter = None
    try:
        service, counter = start_counted(infra, namespace, stage)
        results: list[Round] = []
        for done in range(rounds):
            if done:
                more, count = stage.inputs(create_codec(), records, 100 + done)
                produce_all(create_producer(infra), namespace.topic(stage.source), more)
                expected += count
            if not counter.wait_for(expected, 900, service.check_alive):
                raise RuntimeError(f"{stage_name} handled {counter.total} of {expected} records in round {done + 1}")
            time.sleep(SETTLE_SECONDS)
            memory = memory_sample(stage_name, service, 0)
            results.append(Round(counter.total, round(memory.rss_mib, 1), round(memory.rocksdb_mib, 1)))
            print(f"bench.plateau: round {done + 1}: {results[-1]}", flush=True)
        return results
    finally:
        if counter is not None:
            counter.close()
        namespace.close()
        stop_infra(infra)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage", choices=("scoring", "nurture", "analytics", "ingest", "routing"))
    parser.add_argument("--records", type=int, default=40_000, help="records per backlog")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    rounds = run_plateau(args.stage, args.records, args.rounds)
    summary = plateau_summary(rounds)
    args.out.mkdir(parents=True, exist_ok=True)
    result = {"stage": args.stage, "records_per_round": args.records, "rounds": [asdict(r) for r in rounds]}
    (args.out / f"plateau-{args.stage}.json").write_text(json.dumps(result | {"summary": summary}, indent=2) + "\n")
    (args.out / f"plateau-{args.stage}.md").write_text(render_markdown(args.stage, rounds, summary))
    print(render_markdown(args.stage, rounds, summary))


if __name__ == "__main__":
    main()
