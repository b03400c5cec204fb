"""Loading, validating and rendering sequence definitions."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path

import pytest
from jinja2 import UndefinedError

from services.nurture.schedule import Delay
from services.nurture.sequences import (
    SequenceError,
    load_sequences,
    load_shipped,
    parse_sequence,
    render_step,
    with_holidays,
)
from services.nurture.templates import SAMPLE_CONTEXT

MINIMAL = """
id: demo
kind: rep
steps:
  - id: hello
    delay: 1 business days
    channel: email
    subject: "Hi {{ lead.first_name }}"
    text: "Hello {{ lead.first_name }}"
"""


def test_shipped_sequences_load_and_cover_the_issue() -> None:
    """The shipped YAML files validate and include both kinds, tasks and A/B variants."""
    shipped = load_shipped()
    assert {
        "new-inbound-lead",
        "mql-follow-up",
        "re-engagement",
        "post-demo",
        "onboarding",
    } <= set(shipped)
    assert {s.kind for s in shipped.values()} == {"rep", "marketing"}
    mql = shipped["mql-follow-up"]
    assert {s.task_kind for s in mql.steps if s.channel == "task"} == {
        "call",
        "linkedin",
    }
    assert [v.name for v in mql.steps[0].variants] == ["question", "meeting"]
    assert any(s.unless_milestone == "kickoff_booked" for s in shipped["onboarding"].steps)


def test_minimal_sequence_parses_with_defaults() -> None:
    """Omitted window and variants fall back to 09:00-17:00 Mon-Fri and one default variant."""
    sequence = parse_sequence(MINIMAL)
    step = sequence.steps[0]
    assert sequence.window.start == time(9) and sequence.window.weekdays == frozenset(range(5))
    assert step.delay == Delay(1, "business_days")
    assert [(v.name, v.weight) for v in step.variants] == [("default", 1.0)]


def test_missing_variable_fails_at_load_not_at_send() -> None:
    """A template naming a variable the context lacks is rejected by validation."""
    with pytest.raises(SequenceError, match="nickname"):
        parse_sequence(MINIMAL.replace('lead.first_name }}"\n', 'lead.nickname }}"\n'))


def test_template_syntax_error_fails_validation() -> None:
    """A broken template names the step in the error."""
    with pytest.raises(SequenceError, match=r"steps\[0\]"):
        parse_sequence(MINIMAL.replace('"Hello {{ lead.first_name }}"', '"Hello {{ lead.first_name "'))


def test_sandbox_blocks_unsafe_attribute_access() -> None:
    """Templates cannot reach Python internals."""
    with pytest.raises(SequenceError):
        parse_sequence(MINIMAL.replace('lead.first_name }}"\n', 'lead.__class__.__mro__ }}"\n'))


@pytest.mark.parametrize(
    ("old", "new", "fault"),
    [
        ("channel: email", "channel: fax", "channel"),
        ("channel: email", "channel: task", "task"),
        ("delay: 1 business days", "delay: soon", "delay"),
        ("kind: rep", "kind: spam", "kind"),
        ('    subject: "Hi {{ lead.first_name }}"\n', "", "subject"),
    ],
)
def test_invalid_definitions_are_rejected(old: str, new: str, fault: str) -> None:
    """Structural mistakes fail with a message naming what is wrong."""
    with pytest.raises(SequenceError, match=fault):
        parse_sequence(MINIMAL.replace(old, new))


def test_marketing_email_must_show_unsubscribe_link() -> None:
    """A marketing email without the unsubscribe link in its text is refused."""
    with pytest.raises(SequenceError, match="unsubscribe_url"):
        parse_sequence(MINIMAL.replace("kind: rep", "kind: marketing"))
    parse_sequence(
        MINIMAL.replace("kind: rep", "kind: marketing").replace(
            '{{ lead.first_name }}"\n', '{{ lead.first_name }} {{ unsubscribe_url }}"\n'
        )
    )


def test_variants_inherit_and_override_step_content() -> None:
    """A variant overrides only the fields it sets."""
    text = MINIMAL + '    variants:\n      - {name: a, weight: 3}\n      - {name: b, subject: "Yo"}\n'
    step = parse_sequence(text).steps[0]
    assert render_step(step, "a", SAMPLE_CONTEXT).subject == "Hi Ada"
    assert render_step(step, "b", SAMPLE_CONTEXT).subject == "Yo"
    assert render_step(step, "b", SAMPLE_CONTEXT).text == "Hello Ada"
    assert step.variant("a").weight == 3.0


def test_duplicate_variant_names_are_rejected() -> None:
    """Variant names identify A/B arms, so they must be unique."""
    with pytest.raises(SequenceError, match="unique"):
        parse_sequence(MINIMAL + "    variants: [{name: a}, {name: a}]\n")


def test_html_templates_escape_lead_data() -> None:
    """Lead data in an HTML template is escaped; the text part is left as typed."""
    step = parse_sequence(MINIMAL + '    html: "<p>{{ lead.company }}</p>"\n').steps[0]
    context = {
        **SAMPLE_CONTEXT,
        "lead": {**SAMPLE_CONTEXT["lead"], "company": "<b>A&B</b>"},
    }
    assert render_step(step, "default", context).html == "<p>&lt;b&gt;A&amp;B&lt;/b&gt;</p>"


def test_render_with_incomplete_context_raises() -> None:
    """Strict undefined also holds at send time: nothing renders with a blank name."""
    step = parse_sequence(MINIMAL).steps[0]
    with pytest.raises(UndefinedError):
        render_step(step, "default", {"lead": {}})


def test_duplicate_ids_across_files_are_an_error(tmp_path: Path) -> None:
    """Two files defining the same sequence id do not silently override each other."""
    (tmp_path / "a.yaml").write_text(MINIMAL)
    (tmp_path / "b.yaml").write_text(MINIMAL)
    with pytest.raises(SequenceError, match="duplicate"):
        load_sequences(tmp_path.glob("*.yaml"))


def test_with_holidays_closes_the_dates_in_every_window() -> None:
    """Configured holidays are added to each sequence's send window."""
    christmas = date(2025, 12, 25)
    updated = with_holidays(load_shipped(), frozenset({christmas}))
    assert all(christmas in s.window.holidays for s in updated.values())
