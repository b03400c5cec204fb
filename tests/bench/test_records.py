"""The bench's records are values of the shipped schemas, keyed the way the services key them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bench.records import clean_leads, lead_assigned, lead_captured, lead_id_for, lead_qualified, lead_submitted
from shared.avro_codec import create_codec

NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("record", "build"),
    [
        ("LeadSubmitted", lambda lead: lead_submitted(lead, NOW)),
        ("LeadCaptured", lambda lead: lead_captured(lead, NOW)),
        ("LeadQualified", lambda lead: lead_qualified(lead, NOW)),
        ("LeadAssigned", lambda lead: lead_assigned(lead, NOW, "rep-na-ent-01")),
    ],
)
def test_every_stage_input_encodes_with_its_schema(record: str, build) -> None:  # type: ignore[no-untyped-def]
    """A schema change the bench's builders miss fails here, not twenty seconds into a bench run."""
    codec = create_codec()
    for lead in clean_leads(7, 20, NOW):
        name, decoded = codec.decode(codec.encode(record, build(lead)))
        assert name == record
        assert decoded["email"] == lead.email


def test_an_assignment_names_the_rep_and_the_lead_scoring_would_have_keyed() -> None:
    """nurture's input carries the lead id every upstream stage used, so one lead is one enrolment."""
    lead = clean_leads(7, 1, NOW)[0]
    assigned = lead_assigned(lead, NOW, "rep-emea-01")
    assert assigned["lead_id"] == lead_captured(lead, NOW)["lead_id"] == lead_id_for(lead)
    assert assigned["rep_id"] == "rep-emea-01"
    assert assigned["event_id"] != lead_qualified(lead, NOW)["event_id"]
