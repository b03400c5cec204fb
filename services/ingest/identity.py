"""Redis adapter for identity and idempotency: email -> lead_id, and event_id claims.

One Lua script makes the claim atomic across replicas: a re-sent event_id is answered with the
lead_id it got the first time and is never captured twice. A claim starts "pending" with a short
TTL and is confirmed after the record is produced, so a crash in between never loses a lead:
the pending claim expires and the upstream retry goes through.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import redis.asyncio as redis

from shared.metrics import ServiceMetrics
from shared.redis_client import timed

PENDING = b"pending:"

# KEYS[1] event claim, KEYS[2] identity, KEYS[3] erased marker; ARGV[1] candidate lead_id,
# ARGV[2] pending TTL seconds, ARGV[3] "1" when the submission carries marketing consent.
# An erased person is refused without consent ({"", 0, 0, 1}); with consent the marker goes and
# they come back as a new lead. Returns {lead_id, duplicate (0/1), new_lead (0/1), erased (0/1)}.
_CLAIM = """
if redis.call('EXISTS', KEYS[3]) == 1 then
  if ARGV[3] ~= '1' then return {'', 0, 0, 1} end
  redis.call('DEL', KEYS[3])
end
local seen = redis.call('GET', KEYS[1])
if seen then
  local lead = string.gsub(seen, '^pending:', '')
  return {lead, 1, 0, 0}
end
local lead = redis.call('GET', KEYS[2])
local new = 0
if not lead then
  lead = ARGV[1]
  redis.call('SET', KEYS[2], lead)
  new = 1
end
redis.call('SET', KEYS[1], 'pending:' .. lead, 'EX', tonumber(ARGV[2]))
return {lead, 0, new, 0}
"""

# KEYS[1] identity; ARGV[1] candidate lead_id. Returns {lead_id, new_lead}.
_RESOLVE = """
local lead = redis.call('GET', KEYS[1])
if lead then return {lead, 0} end
redis.call('SET', KEYS[1], ARGV[1])
return {ARGV[1], 1}
"""


@dataclass(frozen=True)
class Claim:
    lead_id: str
    duplicate: bool
    new_lead: bool
    # The email belongs to an erased person and the submission carries no consent: nothing claimed.
    erased: bool = False


@dataclass(frozen=True)
class LeadClaim:
    """What claiming one submitted lead needs: its event_id, email and marketing consent."""

    event_id: str
    email: str
    consent: bool


class IdentityStore:
    """Identity and dedupe keys under `prefix`; every call is timed and maps outages to retries."""

    def __init__(
        self,
        client: redis.Redis,
        prefix: str,
        metrics: ServiceMetrics,
        dedupe_ttl_seconds: int,
        pending_ttl_seconds: int = 30,
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._metrics = metrics
        self._dedupe_ttl = dedupe_ttl_seconds
        self._pending_ttl = pending_ttl_seconds
        self._claim = client.register_script(_CLAIM)
        self._resolve = client.register_script(_RESOLVE)

    def _event_key(self, event_id: str) -> str:
        return f"{self._prefix}event:{event_id}"

    def _identity_key(self, email: str) -> str:
        # Keyed by the email's digest: Redis never holds the address itself.
        return f"{self._prefix}identity:{email_sha256(email)}"

    def _erased_key(self, digest: str) -> str:
        return f"{self._prefix}erased:{digest}"

    async def claim(self, event_id: str, email: str, *, consent: bool = False) -> Claim:
        """Claim `event_id` for the lead with `email` in one round trip.

        duplicate=True when it was claimed before; erased=True (nothing claimed) when the email
        was erased and `consent` is False; with consent the erasure marker is cleared first.
        """
        (claim,) = await self.claim_many([LeadClaim(event_id, email, consent)])
        return claim

    async def claim_many(self, leads: Sequence[LeadClaim]) -> list[Claim]:
        """`claim` for each lead, in order, all in one pipelined round trip."""
        pipe = self._client.pipeline(transaction=False)
        for lead in leads:
            args: list[str | int] = [new_lead_id(), self._pending_ttl, "1" if lead.consent else "0"]
            await self._claim(keys=self._claim_keys(lead), args=args, client=pipe)  # queued, not sent
        replies = await timed(self._metrics, pipe.execute())
        return [Claim(_text(lead), bool(dup), bool(new), bool(erased)) for lead, dup, new, erased in replies]

    def _claim_keys(self, lead: LeadClaim) -> list[str]:
        erased = self._erased_key(email_sha256(lead.email))
        return [self._event_key(lead.event_id), self._identity_key(lead.email), erased]

    async def confirm(self, event_id: str, lead_id: str) -> None:
        """The record is produced: keep the claim for the dedupe window."""
        await self.confirm_many([(event_id, lead_id)])

    async def confirm_many(self, claims: Sequence[tuple[str, str]]) -> None:
        """`confirm` for each (event_id, lead_id), in one round trip."""
        pipe = self._client.pipeline(transaction=False)
        for event_id, lead_id in claims:
            pipe.set(self._event_key(event_id), lead_id, ex=self._dedupe_ttl)
        await timed(self._metrics, pipe.execute())

    async def release(self, *event_ids: str) -> None:
        """Producing failed: drop the pending claims so a retry can go through at once."""
        if event_ids:
            await timed(self._metrics, self._client.delete(*(self._event_key(e) for e in event_ids)))

    async def claim_event(self, event_id: str, lead_id: str) -> Claim:
        """Claim `event_id` for a known lead (engagement events)."""
        key = self._event_key(event_id)
        claimed = await timed(self._metrics, self._client.set(key, f"pending:{lead_id}", nx=True, ex=self._pending_ttl))
        if claimed:
            return Claim(lead_id, False, False)
        seen = await timed(self._metrics, self._client.get(key))
        return Claim(_text(seen or lead_id.encode()).removeprefix("pending:"), True, False)

    async def claim_webhook(self, webhook_id: str, ttl_seconds: int) -> bool:
        """True the first time a webhook id is seen within `ttl_seconds` (replay protection)."""
        key = f"{self._prefix}webhook:{webhook_id}"
        return bool(await timed(self._metrics, self._client.set(key, b"1", nx=True, ex=ttl_seconds)))

    async def erase(self, digest: str) -> list[str]:
        """Forget the email with this digest and remember that it was erased; what was removed."""
        pipe = self._client.pipeline(transaction=True)
        pipe.delete(f"{self._prefix}identity:{digest}")
        pipe.set(self._erased_key(digest), b"1")
        deleted, _ = await timed(self._metrics, pipe.execute())
        return ["redis:identity"] if deleted else []

    async def erased(self, email: str) -> bool:
        return bool(await timed(self._metrics, self._client.exists(self._erased_key(email_sha256(email)))))

    async def clear_erased(self, email: str) -> None:
        """A fresh submission with consent brings the person back as a new lead."""
        await timed(self._metrics, self._client.delete(self._erased_key(email_sha256(email))))

    async def lookup(self, email: str) -> str | None:
        """The lead_id for `email`, without creating one."""
        lead = await timed(self._metrics, self._client.get(self._identity_key(email)))
        return None if lead is None else _text(lead)

    async def resolve(self, email: str) -> tuple[str, bool]:
        """The lead_id for `email`, created when unknown; (lead_id, created)."""
        lead, new = await timed(self._metrics, self._resolve(keys=[self._identity_key(email)], args=[new_lead_id()]))
        return _text(lead), bool(new)


def email_sha256(email: str) -> str:
    return hashlib.sha256(email.encode()).hexdigest()


def new_lead_id() -> str:
    return f"lead_{uuid.uuid4().hex}"


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
