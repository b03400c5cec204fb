"""The subject-key store in Redis, and the vault every service seals and opens personal data through.

One key per subject under `<redis prefix>pii:key:<subject>`, shared by all services; ingest creates
keys at capture and shreds them, nurture may create one to seal what it writes (`seal_values`), the
rest only read. Values in Redis are wrapped by the master key when one
is configured, so a copy of Redis alone opens nothing.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import redis.asyncio as redis

from shared.config import PiiSettings
from shared.metrics import ServiceMetrics
from shared.pii import (
    KeyStore,
    MasterKeyMismatch,
    SubjectErased,
    is_sealed,
    new_key,
    open_fields,
    seal_fields,
    seal_person,
    unwrap_key,
    wrap_key,
)
from shared.redis_client import timed

_RAW, _WRAPPED = b"raw1:", b"wrap1:"
# What a shredded key leaves behind: no key material, and keeps the subject from getting a new key.
SHREDDED = b"shredded"

# KEYS[i] a subject's key; ARGV[i] a fresh stored value for it. The first writer wins, so
# concurrent ingest replicas agree on one key; returns what is stored for each (maybe a tombstone).
_GET_OR_CREATE = """
local stored = {}
for i, key in ipairs(KEYS) do
  stored[i] = redis.call('GET', key)
  if not stored[i] then
    redis.call('SET', key, ARGV[i])
    stored[i] = ARGV[i]
  end
end
return stored
"""


class RedisKeyStore:
    """KeyStore on Redis. A shredded key leaves a tombstone (no TTL) holding no key material."""

    def __init__(self, client: redis.Redis, prefix: str, metrics: ServiceMetrics, master: bytes | None) -> None:
        self._client, self._prefix, self._metrics, self._master = client, prefix, metrics, master
        self._get_or_create = client.register_script(_GET_OR_CREATE)

    def _key(self, subject: str) -> str:
        return key_name(self._prefix, subject)

    async def keys_for(self, subjects: Sequence[str]) -> list[bytes | None]:
        """One script call for the whole batch; its keys span hash slots, so (like ingest's claim
        script) it needs a non-cluster Redis."""
        fresh = [self._stored(subject, new_key()) for subject in subjects]
        replies = await timed(self._metrics, self._get_or_create(keys=[self._key(s) for s in subjects], args=fresh))
        return [self._loaded(subject, stored) for subject, stored in zip(subjects, replies, strict=True)]

    async def key_of(self, subject: str) -> bytes | None:
        stored = await timed(self._metrics, self._client.get(self._key(subject)))
        # The client is built with decode_responses=False: replies are bytes.
        return (
            None if stored is None else self._loaded(subject, stored if isinstance(stored, bytes) else stored.encode())
        )

    async def shred(self, subject: str) -> bool:
        old = await timed(self._metrics, self._client.set(self._key(subject), SHREDDED, get=True))
        return old is not None and old != SHREDDED

    def _stored(self, subject: str, key: bytes) -> bytes:
        return stored_key(subject, key, self._master)

    def _loaded(self, subject: str, stored: bytes) -> bytes | None:
        return loaded_key(subject, stored, self._master)


def key_name(redis_prefix: str, subject: str) -> str:
    """Where the subject's key lives in Redis."""
    return f"{redis_prefix}pii:key:{subject}"


def stored_key(subject: str, key: bytes, master: bytes | None) -> bytes:
    """The form a data key is kept in: wrapped by the master key when there is one."""
    return _RAW + key if master is None else _WRAPPED + wrap_key(master, subject, key)


def loaded_key(subject: str, stored: bytes, master: bytes | None) -> bytes | None:
    """The data key from its stored form (raw or wrapped); None for a shredded subject's tombstone."""
    if stored == SHREDDED:
        return None
    if stored.startswith(_RAW):
        return stored.removeprefix(_RAW)
    if master is None:
        raise MasterKeyMismatch(f"the key of {subject} is wrapped but SALESFLOW_PII_MASTER_KEY is not set")
    return unwrap_key(master, subject, stored.removeprefix(_WRAPPED))


class KeyCache:
    """Opened keys for a short while, least recently used dropped first; `now` is injectable for tests."""

    def __init__(self, size: int, seconds: float, now: Callable[[], float] = time.monotonic) -> None:
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._size, self._seconds, self._now = size, seconds, now

    def get(self, subject: str) -> bytes | None:
        entry = self._entries.get(subject)
        if entry is None or entry[0] <= self._now():
            self._entries.pop(subject, None)
            return None
        self._entries.move_to_end(subject)
        return entry[1]

    def put(self, subject: str, key: bytes) -> None:
        self._entries[subject] = (self._now() + self._seconds, key)
        self._entries.move_to_end(subject)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def drop(self, subject: str) -> None:
        self._entries.pop(subject, None)


class PiiVault:
    """Seals a subject's person fields (writers) and opens them (readers), through one key store.

    With sealing off, records are written as given; opening still reads anything sealed earlier.
    """

    def __init__(self, store: KeyStore, settings: PiiSettings) -> None:
        self.store, self.sealing = store, settings.sealing
        self._cache = KeyCache(settings.cache_size, settings.cache_seconds)

    @classmethod
    def create(cls, client: redis.Redis, redis_prefix: str, metrics: ServiceMetrics, settings: PiiSettings) -> PiiVault:
        return cls(RedisKeyStore(client, redis_prefix, metrics, settings.master_key), settings)

    async def seal_records(self, records: Sequence[tuple[str, Mapping[str, Any]]]) -> list[dict[str, Any]]:
        """Each (subject, record) with its person fields and attributes sealed under the subject's key,
        created if new (`seal_person`).

        SubjectErased (nothing sealed) if any subject was shredded: an erased person is never written again.
        """
        if not self.sealing:
            return [dict(record) for _, record in records]
        keys = await self.store.keys_for([subject for subject, _ in records])
        if gone := [subject for (subject, _), key in zip(records, keys, strict=True) if key is None]:
            raise SubjectErased(f"the key of {gone[0]} was shredded")
        return [seal_person(key, s, r) for (s, r), key in zip(records, keys, strict=True) if key]

    async def seal_values(self, subject: str, values: Mapping[str, str]) -> dict[str, str]:
        """Values derived from the subject's data (a rendered subject line, a recipient), each sealed
        under the subject's key (ADDRESS_FIELDS as addresses). Seal before acting on them: SubjectErased
        if the key was shredded. A subject captured while sealing was off gets its key here.
        """
        if not self.sealing:
            return dict(values)
        key = self._cache.get(subject) or (await self.store.keys_for([subject]))[0]
        if key is None:
            raise SubjectErased(f"the key of {subject} was shredded")
        self._cache.put(subject, key)
        return seal_fields(key, subject, values, tuple(values))

    async def open_values(self, subject: str, values: Mapping[str, str | None]) -> dict[str, str | None]:
        """The values with anything sealed opened; SubjectErased if the key is gone, SealBroken if altered."""
        if not any(is_sealed(value) for value in values.values()):
            return dict(values)  # written with sealing off: no key needed
        key = self._cache.get(subject)
        if key is None:
            key = await self.store.key_of(subject)
            if key is not None:
                self._cache.put(subject, key)
        try:
            return open_fields(key, subject, values)
        except SubjectErased:
            self._cache.drop(subject)
            raise

    async def shred(self, subject: str) -> bool:
        """Erase the subject's key for good; True if there was one."""
        self.forget(subject)
        return await self.store.shred(subject)

    def forget(self, subject: str) -> None:
        """Drop a cached key at once (an erasure request was seen)."""
        self._cache.drop(subject)
