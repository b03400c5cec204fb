"""proposal's state adapters: the ledger table (per opportunity_id) and the Redis read model.

The table is written only by agents on topics keyed and partitioned like it; the read model
lets any replica answer for any proposal.
"""

from __future__ import annotations

import json
from typing import Any

from services.proposal.ledger import Ledger
from services.proposal.serialization import ledger_from_dict, ledger_to_dict
from shared.redis_client import timed
from shared.runtime import ServiceRuntime
from shared.tables import JsonTable


class LedgerTable:
    """Ledgers keyed by opportunity_id in a changelogged table."""

    def __init__(self, runtime: ServiceRuntime) -> None:
        self.table = JsonTable(runtime.app, "proposals", runtime.settings.topic_partitions)

    def load(self, opportunity_id: str) -> Ledger:
        stored = self.table.get(opportunity_id)
        return Ledger() if stored is None else ledger_from_dict(stored)

    def save(self, opportunity_id: str, ledger: Ledger) -> None:
        self.table[opportunity_id] = ledger_to_dict(ledger)

    def local_ledgers(self) -> list[tuple[str, Ledger]]:
        """The ledgers of the partitions this worker owns."""
        return [(key, ledger_from_dict(value)) for key, value in self.table.items()]


class ReadModel:
    """Proposal views as JSON strings under <prefix>proposal:proposals:<number>."""

    def __init__(self, runtime: ServiceRuntime) -> None:
        self.runtime = runtime

    async def put(self, view: dict[str, Any]) -> None:
        key = self.runtime.redis_key("proposals", view["number"])
        await timed(self.runtime.metrics, self.runtime.redis.set(key, json.dumps(view, separators=(",", ":"))))

    async def get(self, number: str) -> dict[str, Any] | None:
        key = self.runtime.redis_key("proposals", number)
        raw = await timed(self.runtime.metrics, self.runtime.redis.get(key))
        if raw is None:
            return None
        view: dict[str, Any] = json.loads(raw)
        return view
