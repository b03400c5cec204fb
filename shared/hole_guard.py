"""The consume loop's guard against records the stream framework skipped: seeks back to the hole.

The decisions are shared/offset_holes.py's; this module reads Faust's consumer and seeks it.
"""

from __future__ import annotations

from typing import Any

import faust
import structlog
from prometheus_client import Counter

from shared.group_consumer import faust_offset
from shared.offset_holes import HANDLE, Drop, OffsetHoles, Refetch


class HoleGuard:
    """Admits a guarded topic's records in offset order per partition, refetching skipped ones."""

    def __init__(self, app: faust.App, refetched: Counter, log: structlog.typing.FilteringBoundLogger) -> None:
        self.app, self.refetched, self.log = app, refetched, log
        self.topics: set[str] = set()
        self.holes = OffsetHoles()
        app.on_partitions_revoked.connect(self._forget_revoked)  # type: ignore[arg-type]

    async def admit(self, message: faust.types.Message) -> bool:
        """Whether to handle the record now (otherwise it is not acknowledged and comes again)."""
        if message.topic not in self.topics:
            return True
        verdict = self.holes.admit(
            message.tp, message.offset, faust_offset(self.app.consumer, "_committed_offset", message.tp)
        )
        if isinstance(verdict, Refetch):
            self.refetched.labels(message.topic).inc(message.offset - verdict.offset)
            self.log.warning(
                "skipped_records_refetched",
                topic=message.topic,
                partition=message.partition,
                from_offset=verdict.offset,
                to_offset=message.offset,
            )
            await self._seek(message.tp, verdict.offset)
        elif (
            isinstance(verdict, Drop)
            and (faust_offset(self.app.consumer, "_read_offset", message.tp) or 0) > verdict.refetching
        ):
            # Faust's fetch loop read this queued record after the seek, moving its read offset
            # past the hole again: it would discard the refetched records as already read.
            await self._seek(message.tp, verdict.refetching)
        return verdict == HANDLE

    async def _seek(self, tp: Any, offset: int) -> None:
        await self.app.consumer.seek_wait({tp: offset})  # in the consumer's own thread

    def _forget_revoked(self, sender: Any, revoked: set[Any], **kwargs: Any) -> None:
        self.holes.forget(revoked)
