"""Tests of the record-to-fact mappings, run over the schema examples."""

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from services.analytics.deal_inputs import DEAL_INPUTS, forecast_category
from services.analytics.inputs import LEAD_INPUTS
from shared.avro_codec import create_codec

EXAMPLES = Path(__file__).resolve().parents[3] / "schemas" / "avro" / "examples"
RECORDS = {
    "leads.captured": "LeadCaptured",
    "leads.scored": "LeadScored",
    "leads.qualified": "LeadQualified",
    "leads.assigned": "LeadAssigned",
    "email.outbound": "EmailSent",
    "engagement.captured": "EngagementEvent",
    "opportunities.changed": "OpportunityChanged",
    "proposals.generated": "ProposalGenerated",
    "nurture.enrolments": "EnrolmentChanged",
}


def decoded(record: str, name: str | None = None, **fields: Any) -> dict[str, Any]:
    """An example as the runtime hands it over: encoded and decoded by the real codec."""
    codec = create_codec()
    path = next(iter(sorted((EXAMPLES / record).glob(f"{name or '*'}.json"))))
    value = json.loads(path.read_text()) | fields
    return codec.decode_as(codec.encode(record, value), record)


@pytest.mark.parametrize("topic", sorted(RECORDS))
def test_every_example_maps_without_error(topic: str) -> None:
    """Each consumed topic's example records map to an input for their key."""
    for path in sorted((EXAMPLES / RECORDS[topic]).glob("*.json")):
        record = decoded(RECORDS[topic], path.stem)
        record["lead_id"] = record.get("lead_id") or "lead_x"  # ingest fills it on engagement.captured
        item = (LEAD_INPUTS | DEAL_INPUTS)[topic](record)  # type: ignore[operator]
        assert item.event_id == record["event_id"]


def test_assignment_carries_rep_grade_and_a_derived_capture() -> None:
    """leads.assigned gives the assigned step with rep and grade, and a captured step at captured_at."""
    item = LEAD_INPUTS["leads.assigned"](decoded("LeadAssigned", "to_rep"))
    steps = {f.step: f for f in item.facts}
    assert (steps["assigned"].rep_id, steps["assigned"].grade) == ("rep-na-ent-01", "A")
    assert steps["captured"].event_id.endswith(":captured")
    assert steps["captured"].occurred_at == datetime(2024, 5, 14, 10, 0, 0, 412000, tzinfo=UTC)


def test_sent_email_is_the_first_touch_and_a_send() -> None:
    """email.outbound with outcome sent is a contacted step and remembers the email's step."""
    item = LEAD_INPUTS["email.outbound"](decoded("EmailSent"))
    assert [f.step for f in item.facts] == ["contacted"]
    assert item.sent is not None and (item.sent.sequence_id, item.sent.step) == ("mql-follow-up", 0)


def test_unknown_send_outcome_says_nothing() -> None:
    """An email whose send was interrupted is neither a touch nor a send."""
    item = LEAD_INPUTS["email.outbound"](decoded("EmailSent", outcome="unknown"))
    assert item.facts == () and item.sent is None


def test_engagement_outcomes_and_other_engagement() -> None:
    """An email click is an outcome with its message id; a page view says nothing."""
    click = decoded("EngagementEvent", "full", type="email_click", attributes={"message_id": "m1"})
    item = LEAD_INPUTS["engagement.captured"](click)
    assert item.outcome is not None and (item.outcome.kind, item.outcome.message_id) == ("clicked", "m1")
    assert LEAD_INPUTS["engagement.captured"](decoded("EngagementEvent", "full")).outcome is None


def test_opportunity_snapshot_maps_money_and_category() -> None:
    """opportunities.changed becomes a full snapshot with decimal amounts and our category names."""
    item = DEAL_INPUTS["opportunities.changed"](decoded("OpportunityChanged", "moved_to_proposal"))
    assert item.snapshot is not None
    assert (item.snapshot.amount, item.snapshot.probability) == (Decimal("48000.00"), Decimal("0.60"))
    assert (item.snapshot.forecast_category, item.snapshot.rep_id) == ("best_case", "rep-na-ent-01")
    assert item.lead_id == "lead_3f9d2c4b8a7e4f1d9c6b5a4e3d2c1b0a"


def test_closed_category_follows_the_status() -> None:
    """ "Closed" is commit for a won deal and omitted for a lost one; nonsense is refused."""
    assert forecast_category("Closed", "won") == "commit"
    assert forecast_category("Closed", "lost") == "omitted"
    with pytest.raises(ValueError, match="unknown forecast category"):
        forecast_category("Maybe", "open")


def test_bad_amount_is_a_value_error() -> None:
    """A non-decimal amount is refused, so the wiring can dead-letter it."""
    with pytest.raises(ValueError, match="amount"):
        DEAL_INPUTS["opportunities.changed"](decoded("OpportunityChanged", "opened", amount="lots"))


def test_an_enrolment_change_maps_with_its_sequence_and_reason() -> None:
    """nurture.enrolments: an exit carries its sequence and the signal that ended it."""
    item = LEAD_INPUTS["nurture.enrolments"](decoded("EnrolmentChanged", "exited"))
    assert item.enrolment is not None and item.enrolment.change == "exited"
    assert item.enrolment.reason and item.enrolment.sequence_id


def test_an_opportunity_activity_is_carried_as_a_touch() -> None:
    """opportunities.changed: last_activity_at is the time of a logged call, meeting or email."""
    when = datetime(2026, 10, 5, 9, 30, tzinfo=UTC)
    item = DEAL_INPUTS["opportunities.changed"](decoded("OpportunityChanged", "opened", last_activity_at=when))
    assert item.activity_at == when


@pytest.mark.parametrize("kind", ["call_logged", "task_completed"])
def test_a_call_logged_or_task_completed_is_a_first_touch(kind: str) -> None:
    """engagement.captured: the rep's call or completed task reaches the contacted step."""
    record = decoded("EngagementEvent") | {"type": kind, "lead_id": "L1"}
    [fact] = LEAD_INPUTS["engagement.captured"](record).facts
    assert (fact.step, fact.lead_id) == ("contacted", "L1")


def test_a_type_newer_than_the_schema_reads_as_other_and_says_nothing() -> None:
    """The engagement enum's default: a symbol a later schema adds resolves to "other" here,
    so an older reader decodes the record instead of dead-lettering it."""
    import io

    import fastavro

    from shared.tests import schema_json

    reader = schema_json("EngagementEvent")
    writer = json.loads(json.dumps(reader))
    next(f for f in writer["fields"] if f["name"] == "type")["type"]["symbols"].append("sms_sent")
    value = json.loads((EXAMPLES / "EngagementEvent" / "minimal.json").read_text()) | {"type": "sms_sent"}
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(writer), value)
    buffer.seek(0)
    read = fastavro.schemaless_reader(buffer, fastavro.parse_schema(writer), fastavro.parse_schema(reader))
    assert isinstance(read, dict) and read["type"] == "other"
    item = LEAD_INPUTS["engagement.captured"](read | {"lead_id": "L1", "occurred_at": datetime.now(UTC)})
    assert item.facts == () and item.outcome is None
