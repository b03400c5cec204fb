"""Redis adapter: the due-step timer set, send-once keys, the suppression list and the rep directory.

Every call goes through shared.redis_client.timed, so an outage is a TransientFailure (retried).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import redis.asyncio as redis

from services.nurture.leads import RepContact
from services.nurture.suppression import Suppression
from services.nurture.timers import TimerPlan
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

SendOutcome = str  # "pending" while SMTP runs, then "sent", "bounced"


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class NurtureStore:
    """All of nurture's Redis state, under the runtime's key prefix."""

    def __init__(
        self, client: redis.Redis, key: Callable[..., str], metrics: ServiceMetrics, send_once_ttl: int
    ) -> None:
        """`key` is the runtime's redis_key: every key carries the service's namespace."""
        self._client, self._key, self._metrics, self._ttl = client, key, metrics, send_once_ttl
        self._claim = client.register_script(_CLAIM_DUE)

    async def apply_timers(self, plan: TimerPlan) -> None:
        """Schedule and cancel the plan's members in one round trip."""
        pipe = self._client.pipeline(transaction=False)
        if plan.schedule:
            pipe.zadd(self._key("timers"), {m: due.timestamp() for m, due in plan.schedule.items()})
        if plan.cancel:
            pipe.zrem(self._key("timers"), *plan.cancel)
        await timed(self._metrics, pipe.execute())

    async def claim_due(self, now: datetime, lease_seconds: int, batch: int) -> list[tuple[str, float]]:
        """Members due by `now` with their due scores, each leased for `lease_seconds`."""
        lease = now.timestamp() + lease_seconds
        raw: list[Any] = await timed(
            self._metrics, self._claim(keys=[self._key("timers")], args=[now.timestamp(), lease, batch])
        )
        return [(_text(raw[i]), float(raw[i + 1])) for i in range(0, len(raw), 2)]

    async def claim_send(self, enrolment_id: str, step_index: int) -> SendOutcome | None:
        """Claim the one send of this step (SET NX with TTL): None when claimed now, else what happened."""
        key = self._key("sent", enrolment_id, str(step_index))
        if await timed(self._metrics, self._client.set(key, "pending", nx=True, ex=self._ttl)):
            return None
        existing = await timed(self._metrics, self._client.get(key))
        return "pending" if existing is None else _text(existing)

    async def record_send(self, enrolment_id: str, step_index: int, outcome: SendOutcome) -> None:
        """Record how the claimed send ended ("sent", "bounced"), keeping the TTL."""
        key = self._key("sent", enrolment_id, str(step_index))
        await timed(self._metrics, self._client.set(key, outcome, ex=self._ttl))

    async def release_send(self, enrolment_id: str, step_index: int) -> None:
        """Give the claim back after a transient failure: the relay took nothing, a retry may send."""
        await timed(self._metrics, self._client.delete(self._key("sent", enrolment_id, str(step_index))))

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

    async def put_rep(self, rep: RepContact) -> None:
        """Store a rep from reps.roster, readable by every worker whatever partitions it owns."""
        await timed(self._metrics, self._client.hset(self._key("reps"), rep.rep_id, json.dumps(rep.__dict__)))

    async def rep(self, rep_id: str) -> RepContact | None:
        """The rep by id, or None when the roster has not named them."""
        raw = await timed(self._metrics, self._client.hget(self._key("reps"), rep_id))
        return None if raw is None else RepContact(**json.loads(raw))
