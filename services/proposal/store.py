"""proposal's state adapters: the ledger table (per opportunity_id), the Redis read model and the
erasure index.

The table is written only by agents on topics keyed and partitioned like it; the Redis parts let
any replica answer for any proposal, and an erasure keyed by lead_id find the person's proposals.
"""

from __future__ import annotations

import json
from typing import Any

from services.proposal.ledger import Ledger
from services.proposal.redaction import ProposalRef
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


class SubjectIndex:
    """Whom proposals concern, for erasure: contact email digests and converted leads to their
    proposals. Holds digests and ids only, under <prefix>proposal:subjects:..."""

    def __init__(self, runtime: ServiceRuntime) -> None:
        self.runtime = runtime

    def _key(self, *parts: str) -> str:
        return self.runtime.redis_key("subjects", *parts)

    async def remember_proposal(self, ref: ProposalRef, digest: str | None) -> None:
        """Index a proposal under its deal and, when the request named a contact email, its digest."""
        pipe = self.runtime.redis.pipeline(transaction=False)
        pipe.sadd(self._key("deal", ref.opportunity_id), ref.number)
        if digest is not None:
            pipe.sadd(self._key("contact", digest), ref.encode())
        await timed(self.runtime.metrics, pipe.execute())

    async def link_lead(self, lead_id: str, opportunity_id: str) -> None:
        """Remember that the deal was converted from the lead."""
        await timed(self.runtime.metrics, self.runtime.redis.sadd(self._key("lead", lead_id), opportunity_id))

    async def proposals_of(self, lead_id: str, digest: str | None) -> list[ProposalRef]:
        """Every indexed proposal of the lead's deals or addressed to the digest, in order."""
        refs = {ProposalRef.decode(_text(raw)) for raw in await self._members(self._key("contact", digest or ""))}
        for deal in await self._members(self._key("lead", lead_id)):
            numbers = await self._members(self._key("deal", _text(deal)))
            refs |= {ProposalRef(_text(deal), _text(number)) for number in numbers}
        return sorted(refs)

    async def forget(self, lead_id: str, digest: str | None) -> list[str]:
        """Drop the lead's and the digest's entries; returns which held something. Idempotent."""
        pipe = self.runtime.redis.pipeline(transaction=False)
        pipe.delete(self._key("lead", lead_id))
        pipe.delete(self._key("contact", digest or ""))
        counts = await timed(self.runtime.metrics, pipe.execute())
        names = ("redis:lead-deals", "redis:contact-index")
        return [name for name, count in zip(names, counts, strict=True) if count]

    async def _members(self, key: str) -> set[bytes | str]:
        members: set[bytes | str] = await timed(self.runtime.metrics, self.runtime.redis.smembers(key))
        return members


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
