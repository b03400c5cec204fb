"""Reading sealed person fields in tests the way a consumer would: the subject's key from Redis."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import redis

from shared.pii import PERSON_ATTRIBUTES, PERSON_FIELDS, is_sealed, new_key, open_fields, seal_person
from shared.pii_keys import SHREDDED, key_name, loaded_key, stored_key
from tests.integration.harness import Stack

# Every field a salesflow record holds sealed: a lead's person fields, and what nurture rendered for
# one lead (EmailSent's recipient and subject, TaskCreated's instructions).
SEALED_FIELDS = (*PERSON_FIELDS, "recipient", "subject", "instructions")


def _client(stack: Stack) -> redis.Redis:
    return redis.Redis.from_url(stack.infra.redis_url)


def _name(stack: Stack, subject: str) -> str:
    return key_name(f"{stack.prefix}sf:", subject)


def subject_key(stack: Stack, subject: str) -> bytes | None:
    """The lead's key as the services store it (no master key in tests); None if shredded or absent."""
    stored = _client(stack).get(_name(stack, subject))
    return None if stored is None else loaded_key(subject, bytes(stored), None)  # type: ignore[arg-type]


def opened(stack: Stack, value: Mapping[str, Any]) -> dict[str, Any]:
    """The record with its sealed fields and person attributes opened with its lead's key."""
    key, lead_id = subject_key(stack, value["lead_id"]), value["lead_id"]
    result = dict(value) | open_fields(key, lead_id, {name: value[name] for name in SEALED_FIELDS if name in value})
    if isinstance(attributes := value.get("attributes"), Mapping):
        person = {name: attributes[name] for name in PERSON_ATTRIBUTES if name in attributes}
        result["attributes"] = dict(attributes) | open_fields(key, lead_id, person)
    return result


def sealed(value: Mapping[str, Any]) -> bool:
    """True when every sealed field and person attribute present is sealed."""
    attributes = value.get("attributes") or {}
    return all(is_sealed(value[name]) for name in SEALED_FIELDS if value.get(name) is not None) and all(
        is_sealed(attributes[name]) for name in PERSON_ATTRIBUTES if name in attributes
    )


def sealed_like_ingest(stack: Stack, value: Mapping[str, Any]) -> dict[str, Any]:
    """The record with its person fields and attributes sealed under a key made for its lead, as ingest does."""
    key = new_key()
    _client(stack).set(_name(stack, value["lead_id"]), stored_key(value["lead_id"], key, None), nx=True)
    return seal_person(subject_key(stack, value["lead_id"]) or key, value["lead_id"], value)


def shred(stack: Stack, subject: str) -> None:
    """Shred the subject's key the way ingest's erasure does, without telling any other service."""
    _client(stack).set(_name(stack, subject), SHREDDED)
