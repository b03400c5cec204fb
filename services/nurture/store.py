"""Redis adapter: the timer set, send-once keys, the suppression list, the rep directory, the
enrolment -> lead map, the silence set, rep tasks and mailbox throttles.

Every call goes through shared.redis_client.timed, so an outage is a TransientFailure (retried).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import redis.asyncio as redis
from redis.asyncio.client import Pipeline

from services.nurture.caps import Cap
from services.nurture.leads import RepContact
from services.nurture.suppression import Suppression
from services.nurture.timers import TimerPlan
from services.nurture.traces import LeadTraces, is_lead_timer, timer_match
from shared.metrics import ServiceMetrics
from shared.redis_client import timed

# KEYS[1] timer set; ARGV[1] now, ARGV[2] lease until, ARGV[3] batch size.
# Claims due members by pushing them a lease into the future (not removing them): a worker
# that dies before handing a step on loses nothing, the step simply fires again.
_CLAIM_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[3]))
for i = 1, #due, 2 do redis.call('ZADD', KEYS[1], ARGV[2], due[i]) end
return due
"""

# A mailbox's sorted set holds its sends (score: when) and the slots booked by throttled steps
# (score: in the future). A booked step is admitted when it fires; a new step counts the bookings
# as sends, so it queues behind them. The key lives until its last booking is a period old.
_KEEP_MAILBOX = """
local function keep(key, now, longest)
  local last = redis.call('ZREVRANGE', key, 0, 0, 'WITHSCORES')
  local until_ = last[2] and math.max(tonumber(last[2]), now) or now
  redis.call('EXPIRE', key, math.ceil(until_ - now + longest) + 60)
end
"""
# KEYS[1] a mailbox's send set; ARGV[1] now, ARGV[2] the send's member, ARGV[3] longest period,
# then (limit, period) pairs. Admits the send only if every cap's rolling period ending now holds
# fewer than `limit` sends, counting slots booked for later: checking and booking in one step keeps
# workers that send as the same rep from overrunning the cap together. A member already admitted
# or booked is let through and not counted twice.
_ADMIT = (
    _KEEP_MAILBOX
    + """
local now, longest = tonumber(ARGV[1]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - longest)
if redis.call('ZSCORE', KEYS[1], ARGV[2]) then return 1 end
for i = 4, #ARGV, 2 do
  local count = redis.call('ZCOUNT', KEYS[1], '(' .. (now - tonumber(ARGV[i + 1])), '+inf')
  if count >= tonumber(ARGV[i]) then return 0 end
end
redis.call('ZADD', KEYS[1], now, ARGV[2])
keep(KEYS[1], now, longest)
return 1
"""
)
# ARGV[1] now, ARGV[2] the step's member, ARGV[3] not before, ARGV[4] longest period, then (limit,
# period) pairs. Books the first slot at or after ARGV[3] and after every entry that keeps each
# cap: appended after the last entry, a slot only closes runs that end with it, so each cap needs
# only its limit-th latest entry.
_BOOK = (
    _KEEP_MAILBOX
    + """
local now, ref, not_before, longest = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - longest)
local booked = redis.call('ZSCORE', KEYS[1], ref)
if booked and tonumber(booked) >= not_before then return booked end
if booked then redis.call('ZREM', KEYS[1], ref) end
local slot = not_before
local last = redis.call('ZREVRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if last[2] then slot = math.max(slot, tonumber(last[2])) end
for i = 5, #ARGV, 2 do
  local limit, period = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
  local nth = redis.call('ZREVRANGE', KEYS[1], limit - 1, limit - 1, 'WITHSCORES')
  if nth[2] then slot = math.max(slot, tonumber(nth[2]) + period) end
end
redis.call('ZADD', KEYS[1], slot, ref)
keep(KEYS[1], now, longest)
return tostring(slot)
"""
)

SendOutcome = str  # "pending" while SMTP runs, then "sent", "bounced"


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _longest(caps: Sequence[Cap]) -> float:
    return max(cap.period for cap in caps).total_seconds()


def _cap_pairs(caps: Sequence[Cap]) -> list[str]:
    return [str(value) for cap in caps for value in (cap.limit, cap.period.total_seconds())]


class NurtureStore:
    """All of nurture's Redis state, under the runtime's key prefix."""

    def __init__(
        self, client: redis.Redis, key: Callable[..., str], metrics: ServiceMetrics, send_once_ttl: int
    ) -> None:
        """`key` is the runtime's redis_key: every key carries the service's namespace."""
        self._client, self._key, self._metrics, self._ttl = client, key, metrics, send_once_ttl
        self._claim = client.register_script(_CLAIM_DUE)
        self._admit = client.register_script(_ADMIT)
        self._book = client.register_script(_BOOK)

    async def apply_timers(self, plan: TimerPlan) -> None:
        """Schedule and cancel the plan's members in one round trip."""
        pipe = self._client.pipeline(transaction=False)
        self.queue_timers(pipe, plan)
        await timed(self._metrics, pipe.execute())

    def queue_timers(self, pipe: Pipeline, plan: TimerPlan) -> None:
        """Add the plan's schedules and cancels to `pipe` (the caller executes it)."""
        if plan.schedule:
            pipe.zadd(self._key("timers"), {m: due.timestamp() for m, due in plan.schedule.items()})
        if plan.cancel:
            pipe.zrem(self._key("timers"), *plan.cancel)

    async def arm_missing(self, schedule: dict[str, datetime]) -> int:
        """Add the members the timer set lacks (ZADD NX: a leased or pending timer keeps its score);
        returns how many were missing."""
        if not schedule:
            return 0
        members = {m: due.timestamp() for m, due in schedule.items()}
        added: int = await timed(self._metrics, self._client.zadd(self._key("timers"), members, nx=True))  # type: ignore[arg-type]  # redis-py types zadd's reply loosely
        return int(added)

    async def claim_due(self, now: datetime, lease_seconds: int, batch: int) -> list[tuple[str, float]]:
        """Members due by `now` with their due scores, each leased for `lease_seconds`."""
        lease = now.timestamp() + lease_seconds
        raw: list[Any] = await timed(
            self._metrics, self._claim(keys=[self._key("timers")], args=[now.timestamp(), lease, batch])
        )
        return [(_text(raw[i]), float(raw[i + 1])) for i in range(0, len(raw), 2)]

    async def claim_send(self, ref: str) -> SendOutcome | None:
        """Claim the one send of `ref` (a step "<enrolment>:<step>", a meeting mail) with SET NX and
        a TTL: None when claimed now, else what happened to the earlier claim."""
        key = self._key("sent", ref)
        if await timed(self._metrics, self._client.set(key, "pending", nx=True, ex=self._ttl)):
            return None
        existing = await timed(self._metrics, self._client.get(key))
        return "pending" if existing is None else _text(existing)

    async def record_send(self, ref: str, outcome: SendOutcome) -> None:
        """Record how the claimed send ended ("sent", "bounced"), keeping the TTL."""
        await timed(self._metrics, self._client.set(self._key("sent", ref), outcome, ex=self._ttl))

    async def release_send(self, ref: str) -> None:
        """Give the claim back after a transient failure: the relay took nothing, a retry may send."""
        await timed(self._metrics, self._client.delete(self._key("sent", ref)))

    async def suppress(self, lead_id: str, flag: str) -> None:
        """Add a flag (unsubscribed, hard_bounced, complained, erased) to the lead's suppression entry."""
        await timed(self._metrics, self._client.hset(self._key("suppression", lead_id), flag, "1"))

    async def suppression(self, lead_id: str, marketing_consent: bool) -> Suppression:
        """The lead's suppression record; consent comes from the lead's profile."""
        flags = await timed(self._metrics, self._client.hgetall(self._key("suppression", lead_id)))
        names = {_text(name) for name in flags}
        return Suppression(
            unsubscribed="unsubscribed" in names,
            hard_bounced="hard_bounced" in names,
            complained="complained" in names,
            erased="erased" in names,
            marketing_consent=marketing_consent,
        )

    async def erased_and_reps(
        self, lead_ids: Sequence[str], rep_ids: Sequence[str]
    ) -> tuple[frozenset[str], dict[str, RepContact | None]]:
        """`is_erased` for each lead and `rep` for each rep, in one round trip: the leads not erased."""
        pipe = self._client.pipeline(transaction=False)
        for lead_id in lead_ids:
            pipe.hexists(self._key("suppression", lead_id), "erased")
        if rep_ids:
            pipe.hmget(self._key("reps"), list(rep_ids))
        answers = await timed(self._metrics, pipe.execute())
        erased = answers[: len(lead_ids)]
        unerased = frozenset(lead for lead, flag in zip(lead_ids, erased, strict=True) if not flag)
        raw_reps = answers[len(lead_ids)] if rep_ids else []
        reps = {
            rep: None if raw is None else RepContact(**json.loads(raw))
            for rep, raw in zip(rep_ids, raw_reps, strict=True)
        }
        return unerased, reps

    async def is_erased(self, lead_id: str) -> bool:
        """True once the lead was erased: nothing may be stored or sent for it again."""
        return bool(await timed(self._metrics, self._client.hexists(self._key("suppression", lead_id), "erased")))

    async def forget(self, lead_id: str, traces: LeadTraces) -> list[str]:
        """Drop the lead's timers, send-once claims, enrolment map entries, tasks and silence.

        Returns what held something ("redis:timers", ...); idempotent. The suppression entry stays.
        """
        timers = [m for m in await self._timer_members(lead_id) if is_lead_timer(m, lead_id)]
        deletions = {
            "redis:send-once": [self._key("sent", ref) for ref in traces.send_refs],
            "redis:enrolment-map": [self._key("enrolment", e) for e in traces.enrolment_ids],
            "redis:tasks": [self._key("task", t) for t in traces.task_ids],
        }
        pipe = self._client.pipeline(transaction=False)
        pipe.zrem(self._key("silent"), lead_id)
        names = ["redis:silence"]
        if timers:
            pipe.zrem(self._key("timers"), *timers)
            names.append("redis:timers")
        for name, keys in deletions.items():
            if keys:
                pipe.delete(*keys)
                names.append(name)
        counts = await timed(self._metrics, pipe.execute())
        return [name for name, count in zip(names, counts, strict=True) if count]

    async def _timer_members(self, lead_id: str) -> list[str]:
        async def scan() -> list[str]:
            found = self._client.zscan_iter(self._key("timers"), match=timer_match(lead_id), count=500)
            return [_text(member) async for member, _ in found]

        return await timed(self._metrics, scan())

    async def put_rep(self, rep: RepContact) -> None:
        """Store a rep from reps.roster, readable by every worker whatever partitions it owns."""
        await timed(self._metrics, self._client.hset(self._key("reps"), rep.rep_id, json.dumps(rep.__dict__)))

    async def rep(self, rep_id: str) -> RepContact | None:
        """The rep by id, or None when the roster has not named them."""
        raw = await timed(self._metrics, self._client.hget(self._key("reps"), rep_id))
        return None if raw is None else RepContact(**json.loads(raw))

    def queue_enrolment_leads(self, pipe: Pipeline, leads: dict[str, str]) -> None:
        """Map enrolment ids to their lead, so a DELETE by enrolment id reaches the lead's partition."""
        for enrolment_id, lead_id in leads.items():
            pipe.set(self._key("enrolment", enrolment_id), lead_id, ex=self._ttl * 12)

    async def lead_of_enrolment(self, enrolment_id: str) -> str | None:
        raw = await timed(self._metrics, self._client.get(self._key("enrolment", enrolment_id)))
        return None if raw is None else _text(raw)

    async def mark_silent(self, lead_id: str, since: datetime | None) -> None:
        """Put the lead in the silence set from `since`, or (None) take it out."""
        pipe = self._client.pipeline(transaction=False)
        self.queue_silence(pipe, lead_id, since)
        await timed(self._metrics, pipe.execute())

    def queue_silence(self, pipe: Pipeline, lead_id: str, since: datetime | None) -> None:
        """mark_silent on `pipe`: never moving a silence earlier, so a replayed old event cannot
        shorten it."""
        if since is None:
            pipe.zrem(self._key("silent"), lead_id)
        else:
            pipe.zadd(self._key("silent"), {lead_id: since.timestamp()}, gt=True)

    async def claim_silent(self, before: datetime, lease_seconds: int, batch: int) -> list[tuple[str, float]]:
        """Leads silent since before `before` with that instant, each leased for `lease_seconds`."""
        lease = before.timestamp() + lease_seconds
        raw: list[Any] = await timed(
            self._metrics, self._claim(keys=[self._key("silent")], args=[before.timestamp(), lease, batch])
        )
        return [(_text(raw[i]), float(raw[i + 1])) for i in range(0, len(raw), 2)]

    async def put_task(self, task: dict[str, Any], member: str, due_at: datetime, keep: timedelta) -> None:
        """Keep a created task (for its overdue check and completion) and time its due check."""
        pipe = self._client.pipeline(transaction=False)
        pipe.set(self._key("task", task["task_id"]), json.dumps(task, default=str), ex=int(keep.total_seconds()))
        pipe.zadd(self._key("timers"), {member: due_at.timestamp()}, nx=True)
        await timed(self._metrics, pipe.execute())

    async def task(self, task_id: str) -> dict[str, Any] | None:
        """The stored task with `completed_at` once done, or None when unknown or expired."""
        raw = await timed(self._metrics, self._client.get(self._key("task", task_id)))
        return None if raw is None else dict(json.loads(raw))

    async def complete_task(self, task_id: str, at: datetime) -> dict[str, Any] | None:
        """Record the task done (the first completion wins); None when the task is unknown."""
        task = await self.task(task_id)
        if task is None:
            return None
        task.setdefault("completed_at", at.isoformat())
        key = self._key("task", task_id)
        await timed(self._metrics, self._client.set(key, json.dumps(task), keepttl=True))
        return task

    async def admit(self, mailbox: str, ref: str, now: datetime, caps: Sequence[Cap]) -> bool:
        """Book one send from `mailbox` now if every cap allows it, counting the slots booked for
        later as sends; True as well for a `ref` already admitted or booked (idempotent)."""
        if not caps:
            return True
        args: list[str | float] = [now.timestamp(), ref, _longest(caps), *_cap_pairs(caps)]
        return bool(await timed(self._metrics, self._admit(keys=[self._key("mailbox", mailbox)], args=args)))

    async def book(self, mailbox: str, ref: str, now: datetime, not_before: datetime, caps: Sequence[Cap]) -> datetime:
        """Book `ref` the mailbox's first free slot at or after `not_before`, behind every slot
        booked before it; the step fires then and `admit` lets it through. A `ref` booked earlier
        than `not_before` moves back; one booked at or after it keeps its slot."""
        args: list[str | float] = [now.timestamp(), ref, not_before.timestamp(), _longest(caps), *_cap_pairs(caps)]
        slot = await timed(self._metrics, self._book(keys=[self._key("mailbox", mailbox)], args=args))
        return datetime.fromtimestamp(float(_text(slot)), now.tzinfo)
