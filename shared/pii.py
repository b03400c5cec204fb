"""Sealing personal data in events with a per-subject key (crypto-shredding), and the key-store contract.

Pure: AES-256-GCM over strings; no Redis, no clock, no environment. Deleting a subject's key makes
every value sealed with it unreadable, wherever a copy of the event lives.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

# A sealed value: "pii1:<base64url(nonce | ciphertext | tag)>". A sealed email keeps its domain
# readable, "pii1.<base64url>@<domain>": the domain is a company attribute that scoring's fit rules
# and routing's account ownership read, so they work on sealed records unchanged.
PREFIX = "pii1:"
EMAIL_PREFIX = "pii1."
# The lead fields that identify a person; everything else in a lead record describes the company.
PERSON_FIELDS = ("email", "first_name", "last_name", "phone")
# The free-form `attributes` (of leads and engagement) known to identify a person: a booked meeting's
# attendee. This list is the whole contract; upstreams must put no other personal data in attributes.
PERSON_ATTRIBUTES = ("attendee_email", "attendee_name")
# Fields holding an address: sealed as "pii1.<token>@<domain>", the rest as "pii1:<token>".
ADDRESS_FIELDS = frozenset({"email", "attendee_email", "recipient"})
KEY_BYTES = 32
_NONCE_BYTES = 12
_VALUE_CONTEXT = b"salesflow-pii-v1\x00"
_KEY_CONTEXT = b"salesflow-pii-key-v1\x00"


class PiiUnavailable(Exception):
    """A sealed value cannot be opened; callers treat the person as unknown and act on nothing."""


class SubjectErased(PiiUnavailable):
    """The subject's key was deleted (erasure): the value is gone for good."""


class SealBroken(PiiUnavailable):
    """The value was altered, sealed for another subject, or is not a sealed value at all."""


class MasterKeyMismatch(RuntimeError):
    """A stored key does not open with the configured master key: a deployment error, not bad data.

    Deliberately not PiiUnavailable: the service must stop loudly rather than treat everyone as erased.
    """


class KeyStore(Protocol):
    """One data key per subject, shared by every service. A shredded key never comes back."""

    async def keys_for(self, subjects: Sequence[str]) -> list[bytes | None]:
        """Each subject's key, created when it has none; None for a shredded subject."""

    async def key_of(self, subject: str) -> bytes | None:
        """The subject's key without creating one; None when shredded or never created."""

    async def shred(self, subject: str) -> bool:
        """Delete the key for good (a tombstone keeps it from being created again); True if one existed."""


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=KEY_BYTES * 8)


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith((PREFIX, EMAIL_PREFIX))


def seal(key: bytes, subject: str, value: str) -> str:
    """`value` sealed for `subject`: "pii1:<token>"."""
    return PREFIX + _encrypt(key, _VALUE_CONTEXT + subject.encode(), value.encode())


def seal_email(key: bytes, subject: str, email: str) -> str:
    """The whole address sealed, its domain kept readable: "pii1.<token>@<domain>".

    Something that is not an address (no local part or no domain) is sealed like any value.
    """
    local, at, domain = email.rpartition("@")
    if not (at and local and domain):
        return seal(key, subject, email)
    return f"{EMAIL_PREFIX}{_encrypt(key, _VALUE_CONTEXT + subject.encode(), email.encode())}@{domain}"


def open_sealed(key: bytes, subject: str, value: str) -> str:
    """The plaintext of a value `seal` made for `subject`; SealBroken if it was altered or moved."""
    if value.startswith(PREFIX):
        return _decrypt(key, _VALUE_CONTEXT + subject.encode(), value.removeprefix(PREFIX))
    token, at, domain = value.removeprefix(EMAIL_PREFIX).rpartition("@")
    if not value.startswith(EMAIL_PREFIX) or not at:
        raise SealBroken("not a sealed value")
    email = _decrypt(key, _VALUE_CONTEXT + subject.encode(), token)
    if email.rpartition("@")[2] != domain:
        raise SealBroken("the readable domain does not match the sealed address")
    return email


def seal_fields(key: bytes, subject: str, record: Mapping[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    """The record with each named string field sealed (ADDRESS_FIELDS as addresses), None left as it is.

    Input is never taken as sealed already: an upstream value that merely looks sealed is sealed too.
    """
    return {
        name: _seal_field(key, subject, name, value) if name in fields and isinstance(value, str) else value
        for name, value in record.items()
    }


def _seal_field(key: bytes, subject: str, name: str, value: str) -> str:
    return seal_email(key, subject, value) if name in ADDRESS_FIELDS else seal(key, subject, value)


def seal_person(key: bytes, subject: str, record: Mapping[str, Any]) -> dict[str, Any]:
    """The lead or engagement record with its PERSON_FIELDS and its PERSON_ATTRIBUTES sealed."""
    sealed = seal_fields(key, subject, record, PERSON_FIELDS)
    if isinstance(attributes := record.get("attributes"), Mapping):
        sealed["attributes"] = seal_fields(key, subject, attributes, PERSON_ATTRIBUTES)
    return sealed


def open_fields(key: bytes | None, subject: str, values: Mapping[str, str | None]) -> dict[str, str | None]:
    """Each sealed value opened, the rest as given. SubjectErased when a sealed value has no key."""
    if key is None and any(is_sealed(v) for v in values.values()):
        raise SubjectErased(f"the key of {subject} is gone")
    return {name: open_sealed(key, subject, v) if key and v and is_sealed(v) else v for name, v in values.items()}


def wrap_key(master: bytes, subject: str, key: bytes) -> bytes:
    """A data key encrypted under the master key, bound to its subject (a dump of the store alone reads nothing)."""
    nonce = os.urandom(_NONCE_BYTES)
    return nonce + AESGCM(master).encrypt(nonce, key, _KEY_CONTEXT + subject.encode())


def unwrap_key(master: bytes, subject: str, wrapped: bytes) -> bytes:
    try:
        return AESGCM(master).decrypt(wrapped[:_NONCE_BYTES], wrapped[_NONCE_BYTES:], _KEY_CONTEXT + subject.encode())
    except InvalidTag as exc:
        raise MasterKeyMismatch(f"the stored key of {subject} does not open with this master key") from exc


def _encrypt(key: bytes, context: bytes, plaintext: bytes) -> str:
    nonce = os.urandom(_NONCE_BYTES)
    return base64.urlsafe_b64encode(nonce + AESGCM(key).encrypt(nonce, plaintext, context)).decode().rstrip("=")


def _decrypt(key: bytes, context: bytes, token: str) -> str:
    try:
        blob = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        return AESGCM(key).decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], context).decode()
    except (InvalidTag, binascii.Error, ValueError) as exc:
        raise SealBroken("the sealed value does not open with the subject's key") from exc
