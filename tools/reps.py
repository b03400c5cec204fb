"""`salesflow reps`: upsert sales reps onto the compacted reps.roster topic.

`seed` publishes the demo team (services/routing/demo_roster.yaml); `upsert FILE` publishes a
roster file of your own; `deactivate REP_ID` marks one rep inactive.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from confluent_kafka import Producer

from services.routing.roster import Rep, load_roster, rep_to_dict
from shared.avro_codec import create_codec
from shared.config import KafkaSettings
from shared.topics import physical_name

DEMO_ROSTER = Path(__file__).resolve().parents[1] / "services" / "routing" / "demo_roster.yaml"


def publish_reps(reps: Iterable[Rep], *, prefix: str = "", env: dict[str, str] | None = None) -> int:
    """Produce one RepProfile per rep, keyed by rep_id; returns how many were acknowledged."""
    kafka = KafkaSettings.from_env(os.environ if env is None else env)
    codec = create_codec(kafka.schema_registry_url)
    producer = Producer(kafka.confluent_config() | {"enable.idempotence": True})
    now = datetime.now(UTC)
    count = 0
    for rep in reps:
        value = codec.encode("RepProfile", rep_to_dict(rep, now))
        producer.produce(physical_name("reps.roster", prefix), value, key=rep.rep_id.encode())
        count += 1
    if producer.flush(30) != 0:
        raise SystemExit("reps: the broker did not acknowledge every rep in 30 s")
    return count


def seed_demo_roster(prefix: str = "") -> int:
    return publish_reps(load_roster(DEMO_ROSTER), prefix=prefix)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="salesflow reps", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("seed", help="publish the demo team")
    upsert = sub.add_parser("upsert", help="publish every rep of a roster YAML file")
    upsert.add_argument("file", type=Path)
    deactivate = sub.add_parser("deactivate", help="mark a rep inactive (from the demo or --file roster)")
    deactivate.add_argument("rep_id")
    deactivate.add_argument("--file", type=Path, default=DEMO_ROSTER)
    args = parser.parse_args(argv)
    if args.command == "seed":
        count = seed_demo_roster()
    elif args.command == "upsert":
        count = publish_reps(load_roster(args.file))
    else:
        reps = [rep for rep in load_roster(args.file) if rep.rep_id == args.rep_id]
        if not reps:
            raise SystemExit(f"reps: no rep {args.rep_id!r} in {args.file}")
        from dataclasses import replace

        count = publish_reps([replace(reps[0], active=False)])
    print(f"{count} reps published to reps.roster")
    return 0
