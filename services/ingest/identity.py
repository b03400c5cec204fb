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
from typing import Any

import redis.asyncio as redis

from shared.errors import TransientFailure
from shared.metrics import ServiceMetrics
from shared.redis_client import timed

DUPLICATE, IN_FLIGHT = 1, 2

# Shared by both claim scripts. ARGV[1] is the pending TTL seconds and ARGV[2] the claimant.
# `claim(event, resolve)` claims one event as if alone and returns {lead_id, state (0 ours,
# 1 duplicate, 2 in flight), new_lead, erased (0)}; `resolve()` gives the (lead_id, new_lead) for an
# event not seen before. An existing claim is read as: confirmed -> duplicate; pending by us (our
# reply was lost) -> ours again, TTL renewed; pending by someone else (or in the old format without
# a claimant) -> in flight. An event claimed earlier in the same call is a duplicate: a batch that
# carries one event_id twice captures it once.
_CLAIM = """
local ttl, owner = ARGV[1], ARGV[2]
local claimed = {}
local function pending(lead, new)
  return 'pending:' .. lead .. '|' .. new .. '|' .. owner
end
local function seen_claim(key, seen)
  if string.sub(seen, 1, 8) ~= 'pending:' then return {seen, 1, 0, 0} end
  local lead, new, claimant = string.match(seen, '^pending:([^|]*)|(%d)|(.*)$')
  if claimant == owner then
    redis.call('EXPIRE', key, ttl)
    return {lead, 0, tonumber(new), 0}
  end
  return {lead or string.sub(seen, 9), 2, 0, 0}
end
local function claim(event, resolve)
  if claimed[event] then return {claimed[event], 1, 0, 0} end
  local seen = redis.call('GET', event)
  local reply
  if seen then
    reply = seen_claim(event, seen)
  else
    local lead, new = resolve()
    redis.call('SET', event, pending(lead, new), 'EX', tonumber(ttl))
    reply = {lead, 0, new, 0}
  end
  if reply[2] == 0 then claimed[event] = reply[1] end
  return reply
end
local function erased_refusal() return {'', 0, 0, 1} end
"""

# A batch of lead claims in one call, each exactly as if claimed alone, in order.
# KEYS, three per lead: event claim, identity, erased marker. ARGV[3] a random nonce, ARGV[3 + i]
# "1" when lead i carries marketing consent. An erased person is refused without consent; with
# consent the marker goes and they come back as a new lead. A new lead's id is minted here (a
# digest of the nonce and a counter, 128 bits like a uuid4), so no id is drawn for a lead that
# already has one.
_CLAIM_LEADS = (
    _CLAIM
    + """
local nonce, minted = ARGV[3], 0
local replies = {}
for i = 1, #KEYS / 3 do
  local event, identity, erased = KEYS[3 * i - 2], KEYS[3 * i - 1], KEYS[3 * i]
  local was_erased = redis.call('EXISTS', erased) == 1
  if was_erased and ARGV[3 + i] ~= '1' then
    replies[i] = erased_refusal()
  else
    if was_erased then redis.call('DEL', erased) end
    replies[i] = claim(event, function()
      local lead = redis.call('GET', identity)
      if lead then return lead, 0 end
      minted = minted + 1
      lead = 'lead_' .. string.sub(redis.sha1hex(nonce .. ':' .. minted), 1, 32)
      redis.call('SET', identity, lead)
      return lead, 1
    end)
  end
end
return replies
"""
)

# A batch of engagement claims in one call, each as if claimed alone, in order. Per event ARGV[2 + i]
# is '=' .. lead_id for an event naming its lead (one key: its claim), or '+' .. a candidate lead_id
# for one named by email (three keys: its claim, the email's identity, the erased marker). An event
# named by email finds the email's lead, or creates it with the candidate id; an erased person is
# refused with nothing claimed or created.
_CLAIM_ENGAGEMENTS = (
    _CLAIM
    + """
local replies, k = {}, 1
for i = 3, #ARGV do
  local event, given = KEYS[k], string.sub(ARGV[i], 2)
  if string.sub(ARGV[i], 1, 1) == '=' then
    k = k + 1
    replies[#replies + 1] = claim(event, function() return given, 0 end)
  else
    local identity, erased = KEYS[k + 1], KEYS[k + 2]
    k = k + 3
    if redis.call('EXISTS', erased) == 1 then
      replies[#replies + 1] = erased_refusal()
    else
      replies[#replies + 1] = claim(event, function()
        local lead = redis.call('GET', identity)
        if lead then return lead, 0 end
        redis.call('SET', identity, given)
        return given, 1
      end)
    end
  end
end
return replies
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


@dataclass(frozen=True)
class EngagementClaim:
    """What claiming one engagement event needs: its event_id and the lead_id it names, or else
    the email its lead is found (or created) by."""

    event_id: str
    lead_id: str | None
    email: str | None


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
        self._claim_leads = client.register_script(_CLAIM_LEADS)
        self._claim_engagements = client.register_script(_CLAIM_ENGAGEMENTS)
        self._confirm_batch = client.register_script(_CONFIRM_BATCH)

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
        replies = await timed(self._metrics, self._claim_leads(keys=keys, args=args))
        return await self._claims([lead.event_id for lead in leads], replies)

    async def _claims(self, event_ids: Sequence[str], replies: Sequence[Sequence[Any]]) -> list[Claim]:
        """The script's replies as claims; ClaimInFlight, with this call's own claims released,
        when another claimant holds any of them."""
        if in_flight := [event for event, reply in zip(event_ids, replies, strict=True) if reply[1] == IN_FLIGHT]:
            ours = [event for event, reply in zip(event_ids, replies, strict=True) if reply[1] == 0 and not reply[3]]
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
        (claim,) = await self.claim_engagements([EngagementClaim(event_id, lead_id, None)])
        return claim

    async def claim_engagement(self, event_id: str, email: str) -> Claim:
        """Claim `event_id` for the lead with `email` (created when unknown) in one round trip, as
        `claim_event` would after `resolve`; erased=True, with nothing claimed, for an erased person."""
        (claim,) = await self.claim_engagements([EngagementClaim(event_id, None, email)])
        return claim

    async def claim_engagements(self, events: Sequence[EngagementClaim]) -> list[Claim]:
        """`claim_event` or `claim_engagement` for each event, in order, in one script call."""
        keys: list[str] = []
        args: list[str | int] = [self._pending_ttl, self.claimant]
        for event in events:
            keys.append(self._event_key(event.event_id))
            if event.lead_id is not None:
                args.append("=" + event.lead_id)
            elif event.email is not None:
                digest = email_sha256(event.email)
                keys += [f"{self._prefix}identity:{digest}", self._erased_key(digest)]
                args.append("+" + new_lead_id())
            else:
                raise ValueError(f"engagement {event.event_id} names neither a lead_id nor an email")
        replies = await timed(self._metrics, self._claim_engagements(keys=keys, args=args))
        return await self._claims([event.event_id for event in events], replies)

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
