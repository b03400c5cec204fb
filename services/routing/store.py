"""RepLoadStore on Redis: rep open loads, round-robin cursors and account owners.

Storage only; decisions stay in domain.py. Every key carries the hash tag `{prefix}`,
so the script's keys share one Redis Cluster slot.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from redis.asyncio import Redis

from services.routing.domain import Pick, RoutePlan

# One atomic step for a list of leads, in order, so replicas on different partitions never give out
# one slot twice and a later lead of the list sees the earlier ones' picks.
# KEYS: 1 loads hash (rep_id -> open leads), 2 cursors hash (pool_key -> next index),
#       then each lead's remembered answer (makes a redelivered lead cost nothing).
# ARGV: 1 answer TTL in seconds, then per lead: pool_key, pinned count (1 when an owner leads),
#       member count, then rep_id, capacity pairs: pinned first, then the rotation in pool order.
# Reply per lead: lines "<chosen or empty>", "<skipped at capacity>"..., then "1" if replayed.
PICK_REPS_LUA = """
local replies = {}
local at = 2
for lead = 1, #KEYS - 2 do
  local pool_key, pinned, size = ARGV[at], tonumber(ARGV[at + 1]), tonumber(ARGV[at + 2])
  local first = at + 3
  at = first + 2 * size
  local remembered = redis.call('GET', KEYS[2 + lead])
  if remembered then
    replies[lead] = remembered .. '\\n1'
  else
    local skipped = {}
    local function take(i)
      local rep, cap = ARGV[first + 2 * (i - 1)], tonumber(ARGV[first + 2 * i - 1])
      if tonumber(redis.call('HGET', KEYS[1], rep) or '0') < cap then
        redis.call('HINCRBY', KEYS[1], rep, 1)
        return rep
      end
      table.insert(skipped, rep)
      return nil
    end
    local chosen = nil
    for i = 1, pinned do
      chosen = take(i)
      if chosen then break end
    end
    local rotation = size - pinned
    if not chosen and rotation > 0 then
      local cursor = tonumber(redis.call('HGET', KEYS[2], pool_key) or '0') % rotation
      for step = 0, rotation - 1 do
        local pos = (cursor + step) % rotation
        chosen = take(pinned + 1 + pos)
        if chosen then
          redis.call('HSET', KEYS[2], pool_key, (pos + 1) % rotation)
          break
        end
      end
    end
    local reply = (chosen or '') .. '\\n' .. table.concat(skipped, '\\n')
    redis.call('SET', KEYS[2 + lead], reply, 'EX', ARGV[1])
    replies[lead] = reply .. '\\n0'
  end
end
return replies
"""

# KEYS: 1 accounts hash; ARGV: domain, rep_id pairs. Each domain's owner after its claim, in order.
CLAIM_ACCOUNTS_LUA = """
local owners = {}
for i = 1, #ARGV, 2 do
  redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1])
  owners[#owners + 1] = redis.call('HGET', KEYS[1], ARGV[i])
end
return owners
"""

# Owners remembered per process. An account's owner is only ever set (HSETNX), never changed or
# removed, so a known owner stays true; only "no owner yet" must be asked of Redis each time.
OWNER_CACHE_SIZE = 50_000

# Floor at zero: a duplicated release must not leave negative load (phantom capacity).
RELEASE_LUA = """
local load = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if load <= 1 then redis.call('HDEL', KEYS[1], ARGV[1]) return 0 end
return redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
"""


class RedisRepLoadStore:
    """RepLoadStore on redis.asyncio (any decode_responses), keys under `prefix`."""

    def __init__(
        self,
        redis: Redis,
        prefix: str = "routing",
        replay_ttl: timedelta = timedelta(days=7),
    ) -> None:
        self._redis = redis
        self._prefix = "{" + prefix + "}"
        self._replay_ttl = max(1, int(replay_ttl.total_seconds()))
        self._pick = redis.register_script(PICK_REPS_LUA)
        self._release = redis.register_script(RELEASE_LUA)
        self._claim_accounts = redis.register_script(CLAIM_ACCOUNTS_LUA)
        self._owners: dict[str, str] = {}

    async def pick_reps(self, requests: Sequence[tuple[str, RoutePlan]]) -> list[Pick]:
        """For each (lead_id, plan) in turn: try the owner, then rotate the pool from its cursor;
        first with room wins. One round trip, one atomic script for the whole list.

        Counts the lead against the winner and moves the cursor past it. A lead seen
        within `replay_ttl` gets its first answer (replayed=True) and loads stay put.
        """
        keys = [self._key("load"), self._key("cursor")]
        args: list[str | int] = [self._replay_ttl]
        for lead_id, plan in requests:
            members = (plan.owner, *plan.pool) if plan.owner else plan.pool
            keys.append(self._key("lead", lead_id))
            args += [plan.pool_key, 1 if plan.owner else 0, len(members)]
            args += [part for rep in members for part in (rep, plan.capacity[rep])]
        return [_parse_pick(_text(reply)) for reply in await self._pick(keys=keys, args=args)]

    async def pick_rep(self, lead_id: str, plan: RoutePlan) -> Pick:
        """pick_reps for one lead."""
        (pick,) = await self.pick_reps([(lead_id, plan)])
        return pick

    async def release(self, rep_id: str) -> int:
        """Give back one unit of `rep_id`'s load, floor 0; returns the new load."""
        return int(await self._release(keys=[self._key("load")], args=[rep_id]))

    async def open_load(self, rep_id: str) -> int:
        """How many leads `rep_id` currently holds."""
        return int(await self._redis.hget(self._key("load"), rep_id) or 0)

    async def account_owners(self, domains: Sequence[str]) -> list[str | None]:
        """The rep owning each domain, if any: known owners from memory, the rest in one round trip."""
        domains = [domain.lower() for domain in domains]
        owners = {domain: self._owners[domain] for domain in domains if domain in self._owners}
        unknown = sorted(set(domains) - owners.keys())
        if unknown:
            replies = await self._redis.hmget(self._key("accounts"), unknown)
            for domain, owner in zip(unknown, replies, strict=True):
                if owner is not None:
                    owners[domain] = self._remember(domain, _text(owner))
        return [owners.get(domain) for domain in domains]

    async def account_owner(self, domain: str) -> str | None:
        """account_owners for one domain."""
        (owner,) = await self.account_owners([domain])
        return owner

    async def claim_accounts(self, claims: Sequence[tuple[str, str]]) -> list[str]:
        """Make each (domain, rep_id)'s rep own the domain unless one does (HSETNX); returns the
        owners. The claims not answered from memory are one round trip."""
        claims = [(domain.lower(), rep_id) for domain, rep_id in claims]
        owners = {domain: self._owners[domain] for domain, _ in claims if domain in self._owners}
        asked = [(domain, rep_id) for domain, rep_id in claims if domain not in owners]
        if asked:
            replies = await self._claim_accounts(
                keys=[self._key("accounts")], args=[part for claim in asked for part in claim]
            )
            for (domain, _), owner in zip(asked, replies, strict=True):
                owners[domain] = self._remember(domain, _text(owner))
        return [owners[domain] for domain, _ in claims]

    async def claim_account(self, domain: str, rep_id: str) -> str:
        """claim_accounts for one domain."""
        (owner,) = await self.claim_accounts([(domain, rep_id)])
        return owner

    def _remember(self, domain: str, owner: str) -> str:
        if len(self._owners) >= OWNER_CACHE_SIZE:
            self._owners.clear()
        self._owners[domain] = owner
        return owner

    def _key(self, *parts: str) -> str:
        return ":".join((self._prefix, *parts))


def _parse_pick(reply: str) -> Pick:
    *lines, replayed = reply.split("\n")
    chosen, *skipped = lines
    return Pick(chosen or None, tuple(s for s in skipped if s), replayed == "1")


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
