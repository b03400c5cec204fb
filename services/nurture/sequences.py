"""Sequence definitions: YAML parsed and validated into frozen dataclasses, templates compiled.

A template naming a variable outside SAMPLE_CONTEXT fails here, at load, never at a send.
Reads only the files it is given; no clock, no environment.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, time
from pathlib import Path
from typing import Any, Literal

import yaml
from jinja2 import TemplateError

from services.nurture.schedule import WEEKDAYS, Delay, SendWindow
from services.nurture.templates import SAMPLE_CONTEXT, CompiledTemplate, compile_template

SequenceKind = Literal["rep", "marketing"]
Channel = Literal["email", "task"]
TaskKind = Literal["call", "linkedin", "manual_email"]


class SequenceError(ValueError):
    """A sequence definition that must not be loaded; the message names file, step and cause."""


@dataclass(frozen=True)
class Variant:
    """One version of a step's content; weights are relative, not percentages."""

    name: str
    weight: float
    subject: CompiledTemplate | None
    text: CompiledTemplate
    html: CompiledTemplate | None


@dataclass(frozen=True)
class Step:
    """One step: an email, or a task for the rep; `variants` always holds at least one."""

    step_id: str
    delay: Delay
    channel: Channel
    variants: tuple[Variant, ...]
    task_kind: TaskKind | None = None
    unless_milestone: str | None = None

    def variant(self, name: str) -> Variant:
        """The named variant; KeyError when the step has none by that name."""
        for variant in self.variants:
            if variant.name == name:
                return variant
        raise KeyError(name)


@dataclass(frozen=True)
class Sequence:
    """An ordered cadence of steps, sent by the rep (`rep`) or the marketing sender."""

    sequence_id: str
    name: str
    kind: SequenceKind
    window: SendWindow
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class RenderedStep:
    """A step's content for one lead: subject and HTML are None for tasks."""

    variant: str
    subject: str | None
    text: str
    html: str | None


def render_step(step: Step, variant_name: str, context: Mapping[str, Any]) -> RenderedStep:
    """Render one variant of a step for a lead; raises if the context lacks a variable."""
    variant = step.variant(variant_name)
    return RenderedStep(
        variant=variant.name,
        subject=variant.subject.render(context).strip() if variant.subject else None,
        text=variant.text.render(context),
        html=variant.html.render(context) if variant.html else None,
    )


def _compile(source: object, where: str, html: bool = False) -> CompiledTemplate:
    if not isinstance(source, str) or not source.strip():
        raise SequenceError(f"{where}: expected a non-empty template string")
    try:
        return compile_template(source, html)
    except TemplateError as error:
        raise SequenceError(f"{where}: {error}") from error


def _optional(raw: Mapping[str, Any], key: str, where: str, html: bool = False) -> CompiledTemplate | None:
    return _compile(raw[key], f"{where}.{key}", html) if raw.get(key) is not None else None


def _variant(raw: Mapping[str, Any], base: Mapping[str, Any], where: str, email: bool) -> Variant:
    merged = {**base, **raw}
    text_key = "text" if email else "instructions"
    if text_key not in merged:
        raise SequenceError(f"{where}: missing {text_key!r}")
    subject = _optional(merged, "subject", where)
    if email and subject is None:
        raise SequenceError(f"{where}: an email step needs a subject")
    weight = merged.get("weight", 1)
    if not isinstance(weight, int | float) or weight <= 0:
        raise SequenceError(f"{where}: weight must be a positive number")
    return Variant(
        str(merged.get("name", "default")),
        float(weight),
        subject,
        _compile(merged[text_key], f"{where}.{text_key}"),
        _optional(merged, "html", where, True),
    )


def _variants(raw: Mapping[str, Any], where: str, email: bool) -> tuple[Variant, ...]:
    listed = raw.get("variants") or [{}]
    if not isinstance(listed, list):
        raise SequenceError(f"{where}: variants must be a list")
    variants = tuple(_variant(item, raw, f"{where}.variants[{i}]", email) for i, item in enumerate(listed))
    names = [variant.name for variant in variants]
    if len(set(names)) != len(names):
        raise SequenceError(f"{where}: variant names must be unique")
    return variants


def _step(raw: Mapping[str, Any], where: str) -> Step:
    channel = raw.get("channel")
    if channel not in ("email", "task"):
        raise SequenceError(f"{where}: channel must be 'email' or 'task'")
    task_kind = raw.get("task")
    if (channel == "task") != (task_kind in ("call", "linkedin", "manual_email")):
        raise SequenceError(f"{where}: a task step needs task call|linkedin|manual_email, an email none")
    try:
        delay = Delay.parse(str(raw.get("delay", "")))
    except ValueError as error:
        raise SequenceError(f"{where}: {error}") from error
    return Step(
        str(raw.get("id") or ""),
        delay,
        channel,
        _variants(raw, where, channel == "email"),
        task_kind,
        raw.get("unless_milestone"),
    )


def _clock(raw: object, where: str) -> time:
    try:
        return time.fromisoformat(str(raw))
    except ValueError as error:
        raise SequenceError(f"{where}: {error}") from error


def _window(raw: Mapping[str, Any] | None, where: str) -> SendWindow:
    raw = raw or {}
    days = raw.get("days", list(WEEKDAYS[:5]))
    if not isinstance(days, list) or not set(days) <= set(WEEKDAYS):
        raise SequenceError(f"{where}.window.days: use {', '.join(WEEKDAYS)}")
    try:
        return SendWindow(
            _clock(raw.get("start", "09:00"), f"{where}.window.start"),
            _clock(raw.get("end", "17:00"), f"{where}.window.end"),
            frozenset(WEEKDAYS.index(day) for day in days),
        )
    except ValueError as error:
        raise SequenceError(f"{where}.window: {error}") from error


def parse_sequence(text: str, source: str = "<string>") -> Sequence:
    """Parse and validate one YAML sequence document; raises SequenceError naming the fault."""
    raw = yaml.safe_load(text)
    if not isinstance(raw, dict) or not raw.get("id") or raw.get("kind") not in ("rep", "marketing"):
        raise SequenceError(f"{source}: needs an id and kind 'rep' or 'marketing'")
    where = f"{source}:{raw['id']}"
    steps = raw.get("steps")
    if not isinstance(steps, list) or not steps:
        raise SequenceError(f"{where}: needs a non-empty list of steps")
    parsed = tuple(_step(step, f"{where}.steps[{i}]") for i, step in enumerate(steps))
    ids = [step.step_id for step in parsed]
    if "" in ids or len(set(ids)) != len(ids):
        raise SequenceError(f"{where}: every step needs a unique id")
    sequence = Sequence(
        str(raw["id"]),
        str(raw.get("name", raw["id"])),
        raw["kind"],
        _window(raw.get("window"), where),
        parsed,
    )
    _require_unsubscribe_link(sequence, where)
    return sequence


def _require_unsubscribe_link(sequence: Sequence, where: str) -> None:
    """Every marketing email must show its unsubscribe link in the body, not only a header."""
    if sequence.kind != "marketing":
        return
    link = str(SAMPLE_CONTEXT["unsubscribe_url"])
    for step in sequence.steps:
        for variant in step.variants if step.channel == "email" else ():
            if link not in variant.text.render(SAMPLE_CONTEXT):
                raise SequenceError(f"{where}.{step.step_id}.{variant.name}: text lacks {{{{ unsubscribe_url }}}}")


def with_holidays(sequences: Mapping[str, Sequence], holidays: frozenset[date]) -> dict[str, Sequence]:
    """The same sequences with the configured holidays closed in every send window."""
    return {
        key: replace(seq, window=replace(seq.window, holidays=seq.window.holidays | holidays))
        for key, seq in sequences.items()
    }


def load_sequences(paths: Iterable[Path]) -> dict[str, Sequence]:
    """Load every file, keyed by sequence id; duplicate ids are an error, not an override."""
    loaded: dict[str, Sequence] = {}
    for path in sorted(paths):
        sequence = parse_sequence(path.read_text(encoding="utf-8"), str(path))
        if sequence.sequence_id in loaded:
            raise SequenceError(f"{path}: duplicate sequence id {sequence.sequence_id!r}")
        loaded[sequence.sequence_id] = sequence
    return loaded


SHIPPED = Path(__file__).with_name("sequences")


def load_shipped() -> dict[str, Sequence]:
    """The sequences that ship with the service, from services/nurture/sequences/*.yaml."""
    return load_sequences(SHIPPED.glob("*.yaml"))
