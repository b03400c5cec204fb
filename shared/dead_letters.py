"""What goes with a record to its service's dead-letter topic: the original bytes plus headers.

Pure: builds headers; sending is the runtime's job.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

MAX_MESSAGE_CHARS = 1000


@dataclass(frozen=True)
class RecordMeta:
    """Where a consumed record came from; handed to handlers instead of Faust's event."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    timestamp: float | None


def dead_letter_headers(meta: RecordMeta, error: BaseException, service: str, now: datetime) -> list[tuple[str, bytes]]:
    """Headers naming the error class, message, source topic, partition, offset, service and time."""
    message = str(error)[:MAX_MESSAGE_CHARS]
    return [
        ("error.class", type(error).__name__.encode()),
        ("error.message", message.encode()),
        ("source.topic", meta.topic.encode()),
        ("source.partition", str(meta.partition).encode()),
        ("source.offset", str(meta.offset).encode()),
        ("service", service.encode()),
        ("failed.at", now.isoformat().encode()),
    ]
