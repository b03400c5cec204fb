"""Re-engagement: when a lead's silence starts, stops, and who is enrolled once found silent."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from services.nurture.enrolment import enrol, exit_enrolment, record_step
from services.nurture.leads import LeadProfile, new_record
from services.nurture.reengagement import activity_update, wants_reengagement
from services.nurture.sequences import load_shipped

SEQUENCES = load_shipped()
COLD, REP = SEQUENCES["re-engagement"], SEQUENCES["mql-follow-up"]
TZ = ZoneInfo("UTC")
NOW = datetime(2025, 6, 2, 10, tzinfo=UTC)
ADA = LeadProfile("ada@example.com", "Ada", marketing_consent=True)


def test_a_live_enrolment_takes_the_lead_out_of_the_silence_set() -> None:
    """While any enrolment is live the lead is not silent, whatever else changed."""
    move = enrol(new_record("lead-1").enrolments, REP, NOW, TZ)
    record = replace(new_record("lead-1"), enrolments=move.state)
    assert activity_update(record, move.changes, COLD.sequence_id) == "remove"


def test_the_end_of_the_last_enrolment_starts_the_silence() -> None:
    """An exit leaves the lead silent from the exit instant."""
    state = enrol(new_record("lead-1").enrolments, REP, NOW, TZ).state
    later = NOW + timedelta(days=2)
    ended = exit_enrolment(state, state.enrolments[0].enrolment_id, "manual", later)
    record = replace(new_record("lead-1"), enrolments=ended.state)
    assert activity_update(record, ended.changes, COLD.sequence_id) == later
    assert activity_update(record, (), COLD.sequence_id) is None


def test_the_end_of_a_reengagement_does_not_restart_the_silence() -> None:
    """Completing the re-engagement sequence leaves the lead out until it engages again."""
    state = enrol(new_record("lead-1").enrolments, COLD, NOW, TZ).state
    for index in range(len(COLD.steps)):
        moved = record_step(state, state.enrolments[0].enrolment_id, index, COLD, NOW + timedelta(days=index), TZ)
        state = moved.state
    assert moved.changes[-1].change == "completed"
    record = replace(new_record("lead-1"), enrolments=state)
    assert activity_update(record, moved.changes, COLD.sequence_id) is None


def test_only_a_consenting_lead_without_live_enrolment_is_reengaged() -> None:
    """Consent and an address are needed, a live enrolment or a disabled feature refuse."""
    record = replace(new_record("lead-1"), profile=ADA)
    assert wants_reengagement(record, COLD.sequence_id)
    assert not wants_reengagement(record, "")
    assert not wants_reengagement(replace(record, profile=replace(ADA, marketing_consent=False)), COLD.sequence_id)
    assert not wants_reengagement(new_record("lead-1"), COLD.sequence_id)
    busy = replace(record, enrolments=enrol(record.enrolments, REP, NOW, TZ).state)
    assert not wants_reengagement(busy, COLD.sequence_id)
