"""RepLoadStore on Redis: rep open loads, round-robin cursors and account owners.

Storage only; decisions stay in domain.py. Every key carries the hash tag `{prefix}`,
so the script's keys share one Redis Cluster slot.
"""

from __future__ import annotations

from datetime import timedelta

from redis.asyncio import Redis

from services.routing.domain import Pick, RoutePlan

# One atomic step, so replicas on different partitions never give out one slot twice.
# KEYS: 1 loads hash (rep_id -> open leads), 2 cursors hash (pool_key -> next index),
#       3 this lead's remembered answer (makes a redelivered lead cost nothing).
# ARGV: 1 pool_key, 2 answer TTL in seconds, 3 pinned count (1 when an owner leads),
#       then rep_id, capacity pairs: pinned first, then the rotation in pool order.
# Reply: lines "<chosen or empty>", "<skipped at capacity>"..., then "1" if replayed.
PICK_REP_LUA = """
local remembered = redis.call('GET', KEYS[3])
if remembered then return remembered .. '\\n1' end
local pinned = tonumber(ARGV[3])
local size = (#ARGV - 3) / 2
local skipped = {}
local function take(i)
  local rep, cap = ARGV[2 + 2 * i], tonumber(ARGV[3 + 2 * i])
  if tonumber(redis.call('HGET', KEYS[1], rep) or '0') < cap then
    redis.call('HINCRBY', KEYS[1], rep, 1)
    return rep
  end
  table.insert(skipped, rep)
  return nil
end
local function answer(rep)
  local reply = rep .. '\\n' .. table.concat(skipped, '\\n')
  redis.call('SET', KEYS[3], reply, 'EX', ARGV[2])
  return reply .. '\\n0'
end
for i = 1, pinned do
  local rep = take(i)
  if rep then return answer(rep) end
end
local rotation = size - pinned
if rotation > 0 then
  local cursor = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0') % rotation
  for step = 0, rotation - 1 do
    local pos = (cursor + step) % rotation
    local rep = take(pinned + 1 + pos)
    if rep then
      redis.call('HSET', KEYS[2], ARGV[1], (pos + 1) % rotation)
      return answer(rep)
    end
  end
end
return answer('')
"""

# KEYS: 1 accounts hash; ARGV: 1 domain, 2 rep_id. The owner after the claim, in one round trip.
CLAIM_ACCOUNT_LUA = """
redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
return redis.call('HGET', KEYS[1], ARGV[1])
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
        self._pick = redis.register_script(PICK_REP_LUA)
        self._release = redis.register_script(RELEASE_LUA)
        self._claim_account = redis.register_script(CLAIM_ACCOUNT_LUA)
        self._owners: dict[str, str] = {}

    async def pick_rep(self, lead_id: str, plan: RoutePlan) -> Pick:
        """Try the owner, then rotate the pool from its cursor; first with room wins.

        Counts the lead against the winner and moves the cursor past it. A lead seen
        within `replay_ttl` gets its first answer (replayed=True) and loads stay put.
        """
        keys = [self._key("load"), self._key("cursor"), self._key("lead", lead_id)]
        members = (plan.owner, *plan.pool) if plan.owner else plan.pool
        slots = [part for rep in members for part in (rep, plan.capacity[rep])]
        args = [plan.pool_key, self._replay_ttl, 1 if plan.owner else 0, *slots]
        return _parse_pick(_text(await self._pick(keys=keys, args=args)))

    async def release(self, rep_id: str) -> int:
        """Give back one unit of `rep_id`'s load, floor 0; returns the new load."""
        return int(await self._release(keys=[self._key("load")], args=[rep_id]))

    async def open_load(self, rep_id: str) -> int:
        """How many leads `rep_id` currently holds."""
        return int(await self._redis.hget(self._key("load"), rep_id) or 0)

    async def account_owner(self, domain: str) -> str | None:
        """The rep owning `domain`, if any (a known owner is answered without a round trip)."""
        domain = domain.lower()
        if domain in self._owners:
            return self._owners[domain]
        owner = await self._redis.hget(self._key("accounts"), domain)
        return None if owner is None else self._remember(domain, _text(owner))

    async def claim_account(self, domain: str, rep_id: str) -> str:
        """Make `rep_id` own `domain` unless one does (HSETNX); returns the owner."""
        domain = domain.lower()
        if domain in self._owners:
            return self._owners[domain]
        owner = await self._claim_account(keys=[self._key("accounts")], args=[domain, rep_id])
        return self._remember(domain, _text(owner))

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
