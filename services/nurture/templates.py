"""Step templates: Jinja2 in a sandbox with strict undefined, checked against SAMPLE_CONTEXT.

Pure string work: knows nothing of sequences, YAML or where the context comes from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from jinja2 import StrictUndefined, Template
from jinja2.sandbox import SandboxedEnvironment

_TEXT_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
_HTML_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=True)

# The variables every template may use; the wiring must provide each of them at send time.
SAMPLE_CONTEXT: Mapping[str, Any] = {
    "lead": {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@example.com",
        "company": "Analytical Engines Ltd",
        "title": "CTO",
        "country": "GB",
    },
    "rep": {
        "first_name": "Grace",
        "last_name": "Hopper",
        "email": "grace@salesflow.example",
        "title": "Account Executive",
        "phone": "+1 555 0100",
        "calendar_url": "https://cal.example/grace",
    },
    "sender": {"name": "Salesflow", "email": "hello@salesflow.example"},
    "unsubscribe_url": "https://salesflow.example/u/TOKEN",
}


@dataclass(frozen=True)
class CompiledTemplate:
    """A template source with its compiled form; equality and repr use the source only."""

    source: str
    compiled: Template = field(compare=False, repr=False)

    def render(self, context: Mapping[str, Any]) -> str:
        """Render strictly: an undefined variable raises jinja2.UndefinedError."""
        return self.compiled.render(context)


def compile_template(source: str, html: bool = False) -> CompiledTemplate:
    """Compile and trial-render against SAMPLE_CONTEXT; raises jinja2.TemplateError.

    HTML templates autoescape lead data; text templates (subjects, plain bodies, task
    instructions) keep it as typed.
    """
    compiled = (_HTML_ENV if html else _TEXT_ENV).from_string(source)
    compiled.render(SAMPLE_CONTEXT)
    return CompiledTemplate(source, compiled)
