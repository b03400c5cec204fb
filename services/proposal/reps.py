"""The sales reps proposal names on its documents: reps.roster kept in Redis, read when rendering.

A Redis hash rather than a table: the roster topic has one partition, and every worker renders
for its own deals, so each must read every rep whatever partitions it owns.
"""

from __future__ import annotations

import json
from typing import Any

from services.proposal.presentation import RepContact
from shared.dead_letters import RecordMeta
from shared.redis_client import timed
from shared.runtime import ServiceRuntime


class RepDirectory:
    """Rep id -> name and email, under <prefix>proposal:reps; the roster's latest record wins."""

    def __init__(self, runtime: ServiceRuntime) -> None:
        self.runtime, self.key = runtime, runtime.redis_key("reps")

    async def on_roster(self, profile: dict[str, Any], meta: RecordMeta) -> None:
        """A RepProfile from reps.roster; replays rewrite the same entry."""
        entry = json.dumps({"name": profile["name"], "email": profile["email"]})
        await timed(self.runtime.metrics, self.runtime.redis.hset(self.key, profile["rep_id"], entry))

    async def contact(self, rep_id: str) -> RepContact:
        """The rep as the roster names them, or only their id while it has not."""
        raw = await timed(self.runtime.metrics, self.runtime.redis.hget(self.key, rep_id))
        if raw is None:
            return RepContact(rep_id)
        known = json.loads(raw)
        return RepContact(rep_id, known["name"], known["email"])


def install_roster(runtime: ServiceRuntime) -> RepDirectory:
    directory = RepDirectory(runtime)
    runtime.consume("reps.roster", directory.on_roster)
    return directory
