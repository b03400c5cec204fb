"""Redis adapter for A/B counts: one hash of counters per sequence, and which email a message id
(or, failing that, a lead's latest email) was, so engagement counts against the right variant.

Every call goes through shared.redis_client.timed, so an outage is a TransientFailure (retried).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import redis.asyncio as redis

from services.nurture.stats import counter_field
from shared.metrics import ServiceMetrics
from shared.redis_client import timed


@dataclass(frozen=True)
class SentEmail:
    """Which sequence, step and variant an email was (what engagement with it is counted against)."""

    sequence_id: str
    step_id: str
    variant: str
    message_id: str

    def encode(self) -> str:
        return "\x1f".join((self.sequence_id, self.step_id, self.variant, self.message_id))

    @classmethod
    def decode(cls, raw: str) -> SentEmail:
        sequence_id, step_id, variant, message_id = raw.split("\x1f")
        return cls(sequence_id, step_id, variant, message_id)


# Marks the email counted for the metric and counts it, in one step: two calls could be cut between
# them and leave the mark without the count, which no redelivery would then add.
_COUNT_ONCE = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
  return 1
end
return 0
"""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class StatsStore:
    """Counters per sequence/step/variant; each email's engagement is counted once per kind."""

    def __init__(self, client: redis.Redis, key: Callable[..., str], metrics: ServiceMetrics, ttl: int) -> None:
        self._client, self._key, self._metrics, self._ttl = client, key, metrics, ttl
        self._count_once = client.register_script(_COUNT_ONCE)

    async def record_sent(self, lead_id: str, email: SentEmail) -> None:
        """Count the send and remember the email by message id and as the lead's latest."""
        pipe = self._client.pipeline(transaction=False)
        pipe.hincrby(self._key("stats", email.sequence_id), counter_field(email.step_id, email.variant, "sends"))
        pipe.set(self._key("message", email.message_id), email.encode(), ex=self._ttl)
        pipe.set(self._key("last-message", lead_id), email.encode(), ex=self._ttl)
        await timed(self._metrics, pipe.execute())

    async def email_for(self, lead_id: str, message_id: str | None) -> SentEmail | None:
        """The email an engagement is about: by its message id, else the lead's latest email."""
        key = self._key("message", message_id) if message_id else self._key("last-message", lead_id)
        raw = await timed(self._metrics, self._client.get(key))
        return None if raw is None else SentEmail.decode(_text(raw))

    async def count_engagement(self, email: SentEmail, metric: str) -> bool:
        """Count `metric` (opens, clicks, replies) for the email once; False when already counted."""
        keys = [self._key("engaged", metric, email.message_id), self._key("stats", email.sequence_id)]
        args: list[int | str] = [self._ttl, counter_field(email.step_id, email.variant, metric)]
        return bool(await timed(self._metrics, self._count_once(keys=keys, args=args)))

    async def forget(self, lead_id: str, message_ids: Sequence[str], metrics: Iterable[str]) -> list[str]:
        """Drop which emails the lead got and what they engaged with; the per-sequence counts stay.

        Returns ["redis:stats"] when anything was removed, else []; idempotent.
        """
        keys = [self._key("last-message", lead_id)]
        for message_id in message_ids:
            keys += [self._key("message", message_id), *(self._key("engaged", m, message_id) for m in metrics)]
        return ["redis:stats"] if await timed(self._metrics, self._client.delete(*keys)) else []

    async def counts(self, sequence_id: str) -> dict[str, int]:
        """Every counter of the sequence, by counter_field."""
        raw = await timed(self._metrics, self._client.hgetall(self._key("stats", sequence_id)))
        return {_text(name): int(value) for name, value in raw.items()}
