"""Commands on nurture.due, timer members, derived records and settings of the later features."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.nurture.caps import Cap
from services.nurture.config import NurtureConfig, load_configured, parse_span
from services.nurture.records import Command, command_from_record, command_record, task_overdue
from services.nurture.signals import onboarding_lead, signal_for
from services.nurture.timers import DueStep, Timer, parse_timer
from shared.avro_codec import create_codec
from shared.config import SettingsError

NOW = datetime(2025, 6, 2, 10, tzinfo=UTC)
CODEC = create_codec()


def test_a_command_survives_the_step_due_schema() -> None:
    """A command encodes as a StepDue and decodes back to the same command, caused by its own id."""
    command = Command("enrol", "lead-1", "req-1", "post-demo", reason="manual")
    record = command_record(command, NOW)
    decoded = CODEC.decode_as(CODEC.encode("StepDue", record), "StepDue")
    back = command_from_record(decoded)
    assert back.kind == "enrol" and back.sequence_id == "post-demo" and back.reason == "manual"
    assert back.lead_id == "lead-1" and back.cause == record["event_id"]


def test_command_ids_derive_from_cause_and_target() -> None:
    """The same cause gives the same id; another cause, kind or target another."""
    ids = {
        command_record(Command("enrol", "lead-1", "req-1", "a"), NOW)["event_id"],
        command_record(Command("enrol", "lead-1", "req-1", "a"), NOW + timedelta(hours=1))["event_id"],
    }
    assert len(ids) == 1
    others = [
        Command("enrol", "lead-1", "req-2", "a"),
        Command("enrol", "lead-1", "req-1", "b"),
        Command("exit", "lead-1", "req-1", enrolment_id="a"),
    ]
    assert all(command_record(c, NOW)["event_id"] not in ids for c in others)


def test_a_step_record_has_no_command() -> None:
    """A plain due step still decodes with command null (old and new records read alike)."""
    due = {
        "event_id": "due:enr_1:0",
        "occurred_at": NOW,
        "lead_id": "lead-1",
        "enrolment_id": "enr_1",
        "step_index": 0,
        "due_at": NOW,
    }
    assert CODEC.decode_as(CODEC.encode("StepDue", due), "StepDue")["command"] is None


def test_timer_members_name_steps_reminders_and_tasks() -> None:
    """Each kind of timer parses back from its member; a stranger member is a ValueError."""
    step = DueStep("lead:with:colons", "enr_abc", 3)
    assert parse_timer(step.member) == step and step.once_ref == "enr_abc:3"
    for timer in (Timer("reminder", "5c8e0a", "lead:1"), Timer("task", "task_9f", "lead-2")):
        assert parse_timer(timer.member) == timer
    with pytest.raises(ValueError):
        parse_timer("garbage")


def test_task_overdue_derives_from_the_task() -> None:
    """The overdue record names the task and how late it is; its id is the same each time."""
    task = {"task_id": "task_1", "lead_id": "lead-1", "rep_id": "rep-1", "kind": "call", "due_at": NOW.isoformat()}
    first, again = task_overdue(task, NOW + timedelta(minutes=5)), task_overdue(task, NOW + timedelta(hours=1))
    assert first["overdue_seconds"] == 300 and first["due_at"] == NOW
    assert first["event_id"] == again["event_id"]
    CODEC.encode("TaskOverdue", first)


def test_only_the_change_that_wins_a_deal_onboards() -> None:
    """Onboarding starts on status becoming won with a lead, not on later edits or lost deals."""
    won = {"status": "won", "changed": ["stage", "status"], "lead_id": "lead-1"}
    assert onboarding_lead(won) == "lead-1"
    assert onboarding_lead(won | {"changed": ["amount"]}) is None
    assert onboarding_lead(won | {"status": "lost"}) is None
    assert onboarding_lead(won | {"lead_id": None}) is None


def test_a_cancelled_meeting_ends_no_sequence() -> None:
    """meeting_booked exits sequences, but not when it cancels the meeting."""
    assert signal_for("meeting_booked", {}) is not None
    assert signal_for("meeting_booked", {"status": "cancelled"}) is None


def test_spans_and_new_settings_parse() -> None:
    """Reminders, throttles, re-engagement and task due times come from the environment."""
    assert parse_span("24h") == timedelta(hours=24) and parse_span(" 90s ") == timedelta(seconds=90)
    with pytest.raises(SettingsError):
        parse_span("1 fortnight")
    config = NurtureConfig.from_env(
        {
            "NURTURE_MEETING_REMINDERS": "2d,30m",
            "NURTURE_MAILBOX_CAPS": "5/minute,100/24h",
            "NURTURE_REENGAGE_AFTER_DAYS": "0.5",
            "NURTURE_TASK_DUE_AFTER": "4h",
            "NURTURE_ONBOARDING_SEQUENCE": "",
        }
    )
    assert config.meeting_reminders == (timedelta(days=2), timedelta(minutes=30))
    assert config.mailbox_caps == (Cap(5, timedelta(minutes=1)), Cap(100, timedelta(hours=24)))
    assert config.reengage_after == timedelta(hours=12) and config.task_due_after == timedelta(hours=4)
    assert config.onboarding_sequence == "" and config.reengage_sequence == "re-engagement"
    assert NurtureConfig.from_env({"NURTURE_MAILBOX_CAPS": ""}).mailbox_caps == ()


def test_due_step_throughput_settings_are_at_least_one() -> None:
    assert NurtureConfig.from_env({}).due_steps_at_once == 8
    assert NurtureConfig.from_env({"NURTURE_DUE_STEPS_AT_ONCE": "1"}).due_steps_at_once == 1
    assert NurtureConfig.from_env({}).timer_batch == 100
    assert NurtureConfig.from_env({"NURTURE_TIMER_BATCH": "400"}).timer_batch == 400
    for name in ("NURTURE_DUE_STEPS_AT_ONCE", "NURTURE_TIMER_BATCH"):
        for bad in ("0", "-2", "many"):
            with pytest.raises(SettingsError, match=name):
                NurtureConfig.from_env({name: bad})


def test_a_setting_naming_a_missing_sequence_fails_at_start(tmp_path: Path) -> None:
    """The shipped sequences satisfy the defaults; an unknown onboarding sequence given stops the start."""
    config, sequences = load_configured(NurtureConfig.from_env({}))
    assert config.onboarding_sequence == "onboarding" and "onboarding" in sequences
    with pytest.raises(ValueError, match="welcome-aboard"):
        load_configured(NurtureConfig.from_env({"NURTURE_ONBOARDING_SEQUENCE": "welcome-aboard"}))


def test_a_default_sequence_that_is_absent_switches_its_feature_off(tmp_path: Path) -> None:
    """A sequences folder without re-engagement and onboarding runs with both features off."""
    shipped = NurtureConfig.from_env({}).sequences_dir
    for name in ("mql-follow-up", "new-inbound-lead"):
        (tmp_path / f"{name}.yaml").write_text((shipped / f"{name}.yaml").read_text())
    config, sequences = load_configured(NurtureConfig.from_env({"NURTURE_SEQUENCES_DIR": str(tmp_path)}))
    assert sorted(sequences) == ["mql-follow-up", "new-inbound-lead"]
    assert config.reengage_sequence == "" and config.onboarding_sequence == ""
