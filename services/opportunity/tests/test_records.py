"""The contract mapping: examples decode to commands, events encode under their schemas."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from services.opportunity.alerts import check_alerts
from services.opportunity.commands import LogActivity, MarkAlerted, OpenOpportunity
from services.opportunity.records import (
    CommandDecodeError,
    alert_record,
    changed_record,
    command_from_record,
    command_record,
    conversion_opportunity_id,
    mark_alerted_record,
    open_from_conversion,
    rejected_record,
)
from services.opportunity.tests.builders import PIPELINE, T0, applied, open_command, rejected
from shared.avro_codec import create_codec

EXAMPLES = Path(__file__).resolve().parents[3] / "schemas" / "avro" / "examples"
CODEC = create_codec()


def _examples(record: str) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted((EXAMPLES / record).glob("*.json"))]


def _round_trip(record: str, value: dict[str, Any]) -> dict[str, Any]:
    name, decoded = CODEC.decode(CODEC.encode(record, value))
    assert name == record
    return decoded


@pytest.mark.parametrize("example", _examples("OpportunityCommand"), ids=lambda e: str(e["type"]))
def test_every_command_example_decodes_to_its_command(example: dict[str, Any]) -> None:
    """Each OpportunityCommand example survives Avro and becomes a command with its id."""
    command = command_from_record(_round_trip("OpportunityCommand", example))
    assert (command.command_id, command.opportunity_id) == (example["event_id"], example["opportunity_id"])


@pytest.mark.parametrize("record", ["LeadConverted", "OpportunityChanged", "CommandRejected", "OpportunityAlert"])
def test_every_event_example_encodes(record: str) -> None:
    """Every example of the opportunity records round-trips through the codec."""
    examples = _examples(record)
    assert examples
    for example in examples:
        assert _round_trip(record, example)["event_id"] == example["event_id"]


def test_open_record_becomes_an_open_command_with_exact_values() -> None:
    """Amount stays an exact Decimal and close_date a date."""
    fields = {"account_id": "a", "owner_id": "r", "amount": "0.10", "currency": "EUR", "close_date": "2025-06-30"}
    command = command_from_record(_round_trip("OpportunityCommand", command_record("o", "c", "open", T0, fields)))
    assert isinstance(command, OpenOpportunity)
    assert (command.amount, command.close_date) == (Decimal("0.10"), date(2025, 6, 30))


@pytest.mark.parametrize(
    ("kind", "fields", "named"),
    [
        ("open", {"owner_id": "r", "amount": "1", "currency": "EUR", "close_date": "2025-06-30"}, "account_id"),
        (
            "open",
            {"account_id": "a", "owner_id": "r", "amount": "lots", "currency": "EUR", "close_date": "2025-06-30"},
            "amount",
        ),
        (
            "open",
            {"account_id": "a", "owner_id": "r", "amount": "1", "currency": "EUR", "close_date": "30/06/2025"},
            "close_date",
        ),
        ("change_stage", {}, "stage"),
        ("close_lost", {}, "reason"),
        ("log_activity", {"activity_kind": "fax"}, "activity_kind"),
        ("teleport", {}, "type"),
    ],
)
def test_undecodable_commands_name_the_field(kind: str, fields: dict[str, Any], named: str) -> None:
    """A command missing or garbling a field its type needs is a CommandDecodeError naming it."""
    with pytest.raises(CommandDecodeError, match=named):
        command_from_record(command_record("o", "c", kind, T0, fields))


def test_log_activity_keeps_its_time() -> None:
    """activity_at travels to the command's occurred_at."""
    at = datetime(2025, 3, 1, 8, tzinfo=UTC)
    record = command_record("o", "c", "log_activity", T0, {"activity_kind": "call", "activity_at": at})
    command = command_from_record(_round_trip("OpportunityCommand", record))
    assert isinstance(command, LogActivity) and command.occurred_at == at


def test_conversion_derives_a_stable_deal_and_command_id() -> None:
    """Without an opportunity_id the deal id derives from the lead; the command id from the event."""
    conversion = _examples("LeadConverted")[0] | {"opportunity_id": None}
    record = open_from_conversion(conversion)
    assert record["opportunity_id"] == conversion_opportunity_id(conversion) == f"opp_{conversion['lead_id']}"
    assert record["event_id"] == f"{conversion['event_id']}:open"
    assert open_from_conversion(conversion) == record
    assert isinstance(command_from_record(record), OpenOpportunity)


def test_changed_record_carries_state_and_changes() -> None:
    """OpportunityChanged holds exact decimal strings, the forecast category and the stage history."""
    result = applied(None, open_command(amount=Decimal("1000.005")), T0)
    value = _round_trip("OpportunityChanged", changed_record(result.state, result.changed, "c1", "open", PIPELINE))
    assert (value["amount"], value["expected_revenue"]) == ("1000.005", "100.00")
    assert value["forecast_category"] == "Pipeline"
    assert value["stage_history"] == [{"stage": "qualification", "entered_at": T0, "exited_at": None}]
    assert "amount" in value["changed"] and value["event_id"] == "c1:changed"


def test_rejected_record_names_the_reason() -> None:
    """CommandRejected carries the machine reason and a detail."""
    refusal = rejected(None, open_command(amount=Decimal("-1")), T0)
    value = _round_trip("CommandRejected", rejected_record("opp-1", "c9", "open", refusal, T0))
    assert (value["reason"], value["event_id"]) == ("negative_amount", "c9:rejected")


def test_mark_and_alert_ids_do_not_depend_on_order_or_tick() -> None:
    """The same alerts give the same mark command id and alert event ids on every tick."""
    state = applied(None, open_command(close_date=date(2025, 3, 1)), T0).state
    alerts = check_alerts(state, PIPELINE, datetime(2025, 4, 1, tzinfo=UTC))
    later = check_alerts(state, PIPELINE, datetime(2025, 4, 2, tzinfo=UTC))
    assert len(alerts) == 2
    first, second = mark_alerted_record("opp-1", alerts, T0), mark_alerted_record("opp-1", later[::-1], T0)
    assert first["event_id"] == second["event_id"]
    assert [alert_record(a, state)["event_id"] for a in alerts] == [alert_record(a, state)["event_id"] for a in later]
    command = command_from_record(_round_trip("OpportunityCommand", first))
    assert isinstance(command, MarkAlerted) and set(command.alert_keys) == {a.key for a in alerts}
