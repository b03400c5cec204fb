"""JSON logs through structlog, with personal data redacted from every line.

Redaction covers structlog events, stdlib loggers (aiokafka, faust, aiohttp) and formatted
exception tracebacks. It never decides what to log; services do.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

REDACTED = "[redacted]"
PII_KEYS = frozenset(
    {
        "email",
        "phone",
        "first_name",
        "last_name",
        "name",
        "full_name",
        "to",
        "recipient",
        "password",
        "sasl_password",
        "authorization",
        "api_key",
        "token",
    }
)
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
# Phone-like runs: an optional +, then 7+ digits with common separators. Not a date (2024-05-14),
# nor a run that starts inside one ("05-14 10" in "2024-05-14 10:00"): those are timestamps.
_PHONE = re.compile(r"(?<![\w.\-])(?!\d{4}-\d\d-\d\d)\+?\d[\d\s()\-]{6,}\d(?![\w.])")


# The shortest text _PHONE can match: a digit, six more characters, a digit.
_SHORTEST_PHONE = 8


def redact_text(text: str) -> str:
    """`text` with email addresses and phone numbers replaced."""
    if "@" in text:  # every email has one; the scan is the costly part of a log line
        text = _EMAIL.sub(REDACTED, text)
    if len(text) < _SHORTEST_PHONE:  # most values of a canonical line (ids, grades, names of things)
        return text
    return _PHONE.sub(REDACTED, text)


def _redact_value(key: str, value: Any) -> Any:
    if value is None:
        return None
    if key.lower() in PII_KEYS:
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(key, v) for v in value]
    return value


def redact_pii(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: PII keys masked, emails and phones masked inside every string."""
    return {key: _redact_value(key, value) for key, value in event_dict.items()}


def _processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.format_exc_info,
        redact_pii,
        # After the redaction: a timestamp holds nothing personal, and its digits cost a phone scan.
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def configure_logging(service: str, level: str = "INFO") -> None:
    """Route structlog and the stdlib root logger to one JSON-lines stream on stderr.

    structlog's events are rendered by structlog alone and written straight to the root handler's
    stream (`_LineWriter`): through the stdlib's record, handler and formatter a canonical line cost
    twice as much. Library loggers (aiokafka, faust) still go through the handler, its formatter
    running the same processors.
    """
    shared = _processors()
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.JSONRenderer(),
        ],
    )
    _skip_unused_record_fields()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    structlog.configure(
        processors=[*shared, structlog.processors.JSONRenderer()],
        logger_factory=lambda name="": _LineWriter(handler, name),
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)


class _LineWriter:
    """structlog's logger: each rendered line goes to the handler's current stream under its lock,
    so structlog's lines and the libraries' never interleave mid-line and share one stream."""

    def __init__(self, handler: logging.StreamHandler[Any], name: str) -> None:
        self._handler = handler
        self.name = name  # read by add_logger_name

    def msg(self, line: str) -> None:
        self._handler.acquire()
        try:
            self._handler.stream.write(line + "\n")
            self._handler.flush()
        finally:
            self._handler.release()

    debug = info = warning = error = critical = exception = msg


def _skip_unused_record_fields() -> None:
    """Stop the stdlib filling LogRecord fields no line shows (the JSON renders the event dict only).

    The caller's frame, thread and process lookups were a fifth of a canonical line's cost; the
    logging docs' "Optimization" section names these switches.
    """
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


def logging_dict_config(level: str = "INFO") -> dict[str, Any]:
    """A dictConfig for Faust's worker that keeps our JSON handler instead of replacing it."""
    return {"version": 1, "disable_existing_loggers": False, "incremental": True, "root": {"level": level}}
