"""Redis adapter for identity and idempotency: email -> lead_id, and event_id claims.

One Lua script makes the claim atomic across replicas: a re-sent event_id is answered with the
lead_id it got the first time and is never captured twice. A claim starts "pending" with a short
TTL and is confirmed after the record is produced, so a crash in between never loses a lead:
the pending claim expires and the retry goes through.

A pending claim names its claimant (this process), so a claim whose reply was lost is recognised
as our own when the same record is retried, and is not mistaken for a duplicate. Another
claimant's pending claim is neither a duplicate nor ours: `ClaimInFlight` (a TransientFailure)
makes the caller retry until that claim is confirmed (then: duplicate) or expires (then: ours).
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import redis.asyncio as redis

from shared.errors import TransientFailure
from shared.metrics import ServiceMetrics
from shared.redis_client import timed

PENDING = b"pending:"
DUPLICATE, IN_FLIGHT = 1, 2

# What an existing claim `seen` in `key` means for claimant `owner`, as {lead_id, state, new_lead}:
# confirmed -> duplicate; pending by us (our reply was lost) -> ours again, TTL renewed;
# pending by someone else (or in the old format without a claimant) -> in flight.
_SEEN = """
local function seen_claim(key, seen, owner, ttl)
  if string.sub(seen, 1, 8) ~= 'pending:' then return {seen, 1, 0} end
  local lead, new, claimant = string.match(seen, '^pending:([^|]*)|(%d)|(.*)$')
  if claimant == owner then
    redis.call('EXPIRE', key, ttl)
    return {lead, 0, tonumber(new)}
  end
  return {lead or string.sub(seen, 9), 2, 0}
end
local function pending(lead, new, owner)
  return 'pending:' .. lead .. '|' .. new .. '|' .. owner
end
"""

# A batch of lead claims in one call, each exactly as if claimed alone, in order.
# KEYS, three per lead: event claim, identity, erased marker. ARGV[1] pending TTL seconds,
# ARGV[2] the claimant, ARGV[3] a random nonce, ARGV[3 + i] "1" when lead i carries marketing
# consent. An erased person is refused without consent ({"", 0, 0, 1}); with consent the marker
# goes and they come back as a new lead. A new lead's id is minted here (a digest of the nonce and
# a counter, 128 bits like a uuid4), so no id is drawn for a lead that already has one.
# Returns per lead {lead_id, state (0 ours, 1 duplicate, 2 in flight), new_lead (0/1), erased (0/1)}.
_CLAIM_BATCH = (
    _SEEN
    + """
local ttl, owner, nonce = ARGV[1], ARGV[2], ARGV[3]
local minted = 0
local function claim(event, identity, erased, consent)
  if redis.call('EXISTS', erased) == 1 then
    if consent ~= '1' then return {'', 0, 0, 1} end
    redis.call('DEL', erased)
  end
  local seen = redis.call('GET', event)
  if seen then
    local found = seen_claim(event, seen, owner, ttl)
    return {found[1], found[2], found[3], 0}
  end
  local lead = redis.call('GET', identity)
  local new = 0
  if not lead then
    minted = minted + 1
    lead = 'lead_' .. string.sub(redis.sha1hex(nonce .. ':' .. minted), 1, 32)
    redis.call('SET', identity, lead)
    new = 1
  end
  redis.call('SET', event, pending(lead, new, owner), 'EX', tonumber(ttl))
  return {lead, 0, new, 0}
end
local replies = {}
for i = 1, #KEYS / 3 do
  replies[i] = claim(KEYS[3 * i - 2], KEYS[3 * i - 1], KEYS[3 * i], ARGV[3 + i])
end
return replies
"""
)

# KEYS[1] event claim; ARGV[1] lead_id, ARGV[2] pending TTL seconds, ARGV[3] the claimant.
# Returns {lead_id, state (0 ours, 1 duplicate, 2 in flight), 0}.
_CLAIM_EVENT = (
    _SEEN
    + """
local seen = redis.call('GET', KEYS[1])
if seen then return seen_claim(KEYS[1], seen, ARGV[3], ARGV[2]) end
redis.call('SET', KEYS[1], pending(ARGV[1], 0, ARGV[3]), 'EX', tonumber(ARGV[2]))
return {ARGV[1], 0, 0}
"""
)

# An engagement event named by email: the erased check, the email's lead (created when unknown)
# and the event claim in one call. KEYS[1] event claim, KEYS[2] identity, KEYS[3] erased marker;
# ARGV[1] pending TTL seconds, ARGV[2] the claimant, ARGV[3] a candidate lead_id.
# Returns {lead_id, state (0 ours, 1 duplicate, 2 in flight), new_lead, erased}: an erased person
# ({"", 0, 0, 1}) is refused with nothing claimed or created.
_CLAIM_ENGAGEMENT = (
    _SEEN
    + """
if redis.call('EXISTS', KEYS[3]) == 1 then return {'', 0, 0, 1} end
local lead, new = redis.call('GET', KEYS[2]), 0
if not lead then
  lead, new = ARGV[3], 1
  redis.call('SET', KEYS[2], lead)
end
local seen = redis.call('GET', KEYS[1])
if seen then
  local found = seen_claim(KEYS[1], seen, ARGV[2], ARGV[1])
  return {found[1], found[2], found[3], 0}
end
redis.call('SET', KEYS[1], pending(lead, 0, ARGV[2]), 'EX', tonumber(ARGV[1]))
return {lead, 0, new, 0}
"""
)

# KEYS[i] a claimed event; ARGV[1] the dedupe TTL seconds, ARGV[1 + i] its lead_id.
_CONFIRM_BATCH = """
for i, key in ipairs(KEYS) do
  redis.call('SET', key, ARGV[1 + i], 'EX', tonumber(ARGV[1]))
end
"""


class ClaimInFlight(TransientFailure):
    """Another claimant holds a pending claim on this event_id: retry until it is confirmed or expires."""


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
        # Names this process's pending claims: a retry after a lost reply recognises its own.
        self.claimant = uuid.uuid4().hex
        self._claim_batch = client.register_script(_CLAIM_BATCH)
        self._confirm_batch = client.register_script(_CONFIRM_BATCH)
        self._claim_event = client.register_script(_CLAIM_EVENT)
        self._claim_engagement = client.register_script(_CLAIM_ENGAGEMENT)

    def _event_key(self, event_id: str) -> str:
        return f"{self._prefix}event:{event_id}"

    def _identity_key(self, email: str) -> str:
        # Keyed by the email's digest: Redis never holds the address itself.
        return f"{self._prefix}identity:{email_sha256(email)}"

    def _erased_key(self, digest: str) -> str:
        return f"{self._prefix}erased:{digest}"

    async def claim(self, event_id: str, email: str, *, consent: bool = False) -> Claim:
        """Claim `event_id` for the lead with `email` in one round trip.

        duplicate=True when it was claimed and confirmed before; erased=True (nothing claimed) when
        the email was erased and `consent` is False; with consent the erasure marker is cleared
        first. ClaimInFlight when another claimant's claim is still pending.
        """
        (claim,) = await self.claim_many([LeadClaim(event_id, email, consent)])
        return claim

    async def claim_many(self, leads: Sequence[LeadClaim]) -> list[Claim]:
        """`claim` for each lead, in order, in one script call however many leads.

        Its keys span hash slots, so (like the PII key script) it needs a non-cluster Redis.
        """
        keys = [key for lead in leads for key in self._claim_keys(lead)]
        args = [self._pending_ttl, self.claimant, os.urandom(16).hex(), *("1" if x.consent else "0" for x in leads)]
        replies = await timed(self._metrics, self._claim_batch(keys=keys, args=args))
        if in_flight := [lead.event_id for lead, reply in zip(leads, replies, strict=True) if reply[1] == IN_FLIGHT]:
            ours = [lead.event_id for lead, reply in zip(leads, replies, strict=True) if reply[1] == 0 and not reply[3]]
            await self.release(*ours)
            raise ClaimInFlight(f"event {in_flight[0]} is being captured by another claimant; retry")
        return [Claim(_text(lead), state == DUPLICATE, bool(new), bool(erased)) for lead, state, new, erased in replies]

    def _claim_keys(self, lead: LeadClaim) -> list[str]:
        digest = email_sha256(lead.email)
        return [self._event_key(lead.event_id), f"{self._prefix}identity:{digest}", self._erased_key(digest)]

    async def confirm(self, event_id: str, lead_id: str) -> None:
        """The record is produced: keep the claim for the dedupe window."""
        await self.confirm_many([(event_id, lead_id)])

    async def confirm_many(self, claims: Sequence[tuple[str, str]]) -> None:
        """`confirm` for each (event_id, lead_id), in one script call."""
        keys = [self._event_key(event_id) for event_id, _ in claims]
        await timed(self._metrics, self._confirm_batch(keys=keys, args=[self._dedupe_ttl, *(x for _, x in claims)]))

    async def release(self, *event_ids: str) -> None:
        """Producing failed: drop the pending claims so a retry can go through at once."""
        if event_ids:
            await timed(self._metrics, self._client.delete(*(self._event_key(e) for e in event_ids)))

    async def claim_event(self, event_id: str, lead_id: str) -> Claim:
        """Claim `event_id` for a known lead (engagement events)."""
        args: list[str | int] = [lead_id, self._pending_ttl, self.claimant]
        lead, state, _ = await timed(self._metrics, self._claim_event(keys=[self._event_key(event_id)], args=args))
        if state == IN_FLIGHT:
            raise ClaimInFlight(f"event {event_id} is being captured by another claimant; retry")
        return Claim(_text(lead), state == DUPLICATE, False)

    async def claim_engagement(self, event_id: str, email: str) -> Claim:
        """Claim `event_id` for the lead with `email` (created when unknown) in one round trip, as
        `claim_event` would after `resolve`; erased=True, with nothing claimed, for an erased person."""
        digest = email_sha256(email)
        keys = [self._event_key(event_id), f"{self._prefix}identity:{digest}", self._erased_key(digest)]
        args: list[str | int] = [self._pending_ttl, self.claimant, new_lead_id()]
        lead, state, new, erased = await timed(self._metrics, self._claim_engagement(keys=keys, args=args))
        if state == IN_FLIGHT:
            raise ClaimInFlight(f"event {event_id} is being captured by another claimant; retry")
        return Claim(_text(lead), state == DUPLICATE, bool(new), bool(erased))

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

    async def lookup(self, email: str) -> str | None:
        """The lead_id for `email`, without creating one."""
        lead = await timed(self._metrics, self._client.get(self._identity_key(email)))
        return None if lead is None else _text(lead)


def email_sha256(email: str) -> str:
    return hashlib.sha256(email.encode()).hexdigest()


def new_lead_id() -> str:
    return f"lead_{uuid.uuid4().hex}"


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
