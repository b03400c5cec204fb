"""python -m services.opportunity.seed: open a few demo deals over Kafka (the local stack runs it).

Command ids are fixed, so running it twice applies each command once.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from confluent_kafka import Producer

from services.opportunity.records import command_record
from shared.avro_codec import create_codec
from shared.config import KafkaSettings, env_str
from shared.topics import physical_name

# (opportunity id, account, owner, amount, days to close, stages to move through after opening)
DEMO_DEALS = (
    ("opp_demo_northwind", "acct_northwind", "rep-na-ent-01", "48000.00", 45, ("discovery", "demo", "proposal")),
    ("opp_demo_contoso", "acct_contoso", "rep-na-ent-02", "12500.00", 30, ("discovery",)),
    ("opp_demo_fabrikam", "acct_fabrikam", "rep-emea-mm-01", "7200.00", 60, ()),
    ("opp_demo_tailspin", "acct_tailspin", "rep-emea-mm-01", "23900.00", 20, ("discovery", "demo")),
)


def demo_commands(today: date, now: datetime) -> list[dict[str, Any]]:
    """The seed's OpportunityCommand records, in the order they must be applied."""
    records = []
    for opportunity_id, account, owner, amount, days, stages in DEMO_DEALS:
        fields = {
            "account_id": account,
            "owner_id": owner,
            "amount": amount,
            "currency": "EUR",
            "close_date": (today + timedelta(days=days)).isoformat(),
            "source": "seed",
        }
        records.append(command_record(opportunity_id, f"seed:{opportunity_id}:open", "open", now, fields))
        records += [
            command_record(
                opportunity_id,
                f"seed:{opportunity_id}:{stage}",
                "change_stage",
                now,
                {"stage": stage, "source": "seed"},
            )
            for stage in stages
        ]
    return records


def seed(env: Mapping[str, str]) -> int:
    kafka = KafkaSettings.from_env(env)
    codec = create_codec(kafka.schema_registry_url)
    producer = Producer(kafka.confluent_config() | {"enable.idempotence": True})
    topic = physical_name("opportunities.commands", env_str(env, "SALESFLOW_TOPIC_PREFIX", ""))
    now = datetime.now(UTC)
    records = demo_commands(now.date(), now)
    for record in records:
        producer.produce(topic, codec.encode("OpportunityCommand", record), key=record["opportunity_id"].encode())
    if producer.flush(30):
        raise SystemExit("opportunity seed: the broker did not acknowledge every command")
    return len(records)


if __name__ == "__main__":
    print(f"opportunity seed: {seed(os.environ)} commands sent for {len(DEMO_DEALS)} demo deals", flush=True)
