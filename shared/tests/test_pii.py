"""Sealing and opening personal data per subject: round trips, wrong keys, tampering, the vault's cache."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.config import PiiSettings, SettingsError, master_key
from shared.pii import (
    PERSON_ATTRIBUTES,
    PERSON_FIELDS,
    MasterKeyMismatch,
    SealBroken,
    SubjectErased,
    is_sealed,
    new_key,
    open_fields,
    open_sealed,
    seal,
    seal_email,
    seal_fields,
    seal_person,
    unwrap_key,
    wrap_key,
)
from shared.pii_keys import SHREDDED, KeyCache, PiiVault, loaded_key, stored_key

KEY = new_key()


@given(st.text(), st.text(min_size=1))
def test_any_string_opens_to_itself_and_never_shows_in_the_sealed_form(value: str, subject: str) -> None:
    """Whatever the string, the sealed form is only base64url and opening with the key gives it back."""
    sealed = seal(KEY, subject, value)
    assert re.fullmatch(r"pii1:[A-Za-z0-9_-]{38,}", sealed)
    assert open_sealed(KEY, subject, sealed) == value


@given(st.from_regex(r"[a-z0-9.+_-]{1,30}@[a-z0-9-]{1,20}\.[a-z]{2,6}", fullmatch=True))
def test_an_email_keeps_its_domain_readable_and_opens_to_the_whole_address(email: str) -> None:
    """The domain (a company attribute) stays in the clear; the address is whole again when opened."""
    sealed = seal_email(KEY, "lead_1", email)
    domain = email.rpartition("@")[2]
    assert re.fullmatch(r"pii1\.[A-Za-z0-9_-]{38,}@" + re.escape(domain), sealed)
    assert open_sealed(KEY, "lead_1", sealed) == email


def test_a_value_that_is_no_address_is_sealed_without_a_domain() -> None:
    """'@x' and 'ada@' have no local part or domain: nothing of them is left readable."""
    assert all(seal_email(KEY, "s", v).startswith("pii1:") for v in ("@x", "ada@", "plain"))


def test_a_wrong_key_or_another_subject_cannot_open() -> None:
    """Another subject's key, or the right key moved to another subject, fails cleanly."""
    sealed = seal_email(KEY, "lead_1", "ada@acme.example")
    with pytest.raises(SealBroken):
        open_sealed(new_key(), "lead_1", sealed)
    with pytest.raises(SealBroken):
        open_sealed(KEY, "lead_2", sealed)


@pytest.mark.parametrize("position", [6, 10, 20, -20])
def test_any_altered_character_is_detected(position: int) -> None:
    """Changing one character of the token is caught by the GCM tag."""
    sealed = seal(KEY, "lead_1", "Ada Lovelace")
    swapped = "A" if sealed[position] != "A" else "B"
    with pytest.raises(SealBroken):
        open_sealed(KEY, "lead_1", sealed[:position] + swapped + sealed[position + 1 :])


def test_a_changed_readable_domain_is_detected() -> None:
    """The domain in the clear is checked against the sealed address: it cannot be swapped."""
    sealed = seal_email(KEY, "lead_1", "ada@acme.example")
    with pytest.raises(SealBroken):
        open_sealed(KEY, "lead_1", sealed.replace("@acme.example", "@evil.example"))


def test_garbage_that_looks_sealed_fails_cleanly() -> None:
    """Truncated or non-base64 tokens raise SealBroken, never a library error."""
    for junk in ("pii1:", "pii1:!!!", "pii1:abc", "pii1.@x.example", "pii1.nope"):
        with pytest.raises(SealBroken):
            open_sealed(KEY, "s", junk)


def test_only_person_fields_are_sealed_and_input_is_always_sealed() -> None:
    """Company facts stay readable; a submitted value that merely looks sealed is sealed as well."""
    record = {"email": "pii1.x@acme.example", "first_name": "Ada", "phone": None, "company": "Acme"}
    sealed = seal_fields(KEY, "lead_1", record, ("email", "first_name", "phone"))
    assert sealed["company"] == "Acme" and sealed["phone"] is None
    assert sealed["email"] != record["email"] and is_sealed(sealed["first_name"])
    assert open_fields(KEY, "lead_1", sealed) == record


def test_opening_without_a_key_means_the_subject_was_erased() -> None:
    """A sealed value and no key: SubjectErased. Plaintext values need no key."""
    sealed = seal_fields(KEY, "lead_1", {"first_name": "Ada"}, ("first_name",))
    with pytest.raises(SubjectErased):
        open_fields(None, "lead_1", sealed)
    assert open_fields(None, "lead_1", {"first_name": "Ada", "last_name": None}) == {
        "first_name": "Ada",
        "last_name": None,
    }


def test_a_wrapped_key_opens_only_with_its_master_key_and_subject() -> None:
    """Data keys at rest are bound to the master key and to their subject."""
    master = new_key()
    wrapped = wrap_key(master, "lead_1", KEY)
    assert KEY not in wrapped and unwrap_key(master, "lead_1", wrapped) == KEY
    for other_master, subject in ((new_key(), "lead_1"), (master, "lead_2")):
        with pytest.raises(MasterKeyMismatch):
            unwrap_key(other_master, subject, wrapped)


def test_the_master_key_setting_takes_32_bytes_of_base64() -> None:
    """Standard or URL-safe base64 of 32 bytes is accepted; anything else is a clear settings error."""
    assert master_key("") is None
    assert master_key("A" * 43 + "=") == bytes(32)
    assert master_key("_" * 43 + "=") == master_key("/" * 43 + "=")
    for bad in ("not base64!", "AAAA"):
        with pytest.raises(SettingsError):
            master_key(bad)
    assert PiiSettings.from_env({}).sealing and not PiiSettings.from_env({"SALESFLOW_PII_SEALING": "off"}).sealing


class MemoryKeys:
    """The KeyStore contract in memory; counts reads so the cache can be seen working."""

    def __init__(self) -> None:
        self.keys: dict[str, bytes | None] = {}
        self.reads = 0

    async def keys_for(self, subjects: Sequence[str]) -> list[bytes | None]:
        return [self.keys.setdefault(s, new_key()) for s in subjects]

    async def key_of(self, subject: str) -> bytes | None:
        self.reads += 1
        return self.keys.get(subject)

    async def shred(self, subject: str) -> bool:
        existed = self.keys.get(subject) is not None
        self.keys[subject] = None
        return existed


async def test_the_vault_seals_per_subject_opens_through_its_cache_and_refuses_a_shredded_subject() -> None:
    """Keys are made on first seal, opened values come from one read, and shredding ends both."""
    store = MemoryKeys()
    vault = PiiVault(store, PiiSettings())
    (ada, bob) = await vault.seal_records([("l1", {"email": "ada@acme.example"}), ("l2", {"email": "bob@b.example"})])
    assert await vault.open_values("l1", ada) == {"email": "ada@acme.example"}
    assert await vault.open_values("l1", ada) == {"email": "ada@acme.example"} and store.reads == 1
    assert await vault.shred("l1") and not await vault.shred("l1")
    with pytest.raises(SubjectErased):
        await vault.open_values("l1", ada)
    with pytest.raises(SubjectErased):
        await vault.seal_records([("l1", {"email": "ada@acme.example"})])
    assert await vault.open_values("l2", bob) == {"email": "bob@b.example"}


async def test_with_sealing_off_records_are_written_as_given() -> None:
    """SALESFLOW_PII_SEALING=off: no key is made and the record is unchanged."""
    store = MemoryKeys()
    vault = PiiVault(store, PiiSettings(sealing=False))
    assert await vault.seal_records([("l1", {"email": "ada@acme.example"})]) == [{"email": "ada@acme.example"}]
    assert store.keys == {}


def test_a_person_s_attributes_on_the_allow_list_are_sealed_and_the_rest_stay_readable() -> None:
    """A booked meeting's attendee is sealed (the address keeping its domain); other attributes are not."""
    attributes = {"attendee_email": "ada@acme.example", "attendee_name": "Ada L", "meeting_id": "m1"}
    sealed = seal_person(KEY, "lead_1", {"email": None, "first_name": "Ada", "attributes": attributes})
    assert sealed["email"] is None and is_sealed(sealed["first_name"])
    assert sealed["attributes"]["meeting_id"] == "m1" and sealed["attributes"]["attendee_email"].endswith(
        "@acme.example"
    )
    person = {name: sealed["attributes"][name] for name in PERSON_ATTRIBUTES}
    assert open_fields(KEY, "lead_1", person) == {name: attributes[name] for name in PERSON_ATTRIBUTES}
    assert seal_person(KEY, "lead_1", {"lead_id": "lead_1"}) == {"lead_id": "lead_1"}


async def test_values_derived_from_a_person_are_sealed_with_their_key_and_never_for_an_erased_one() -> None:
    """A recipient keeps its domain, a subject line is sealed whole; both open with the subject's key."""
    store = MemoryKeys()
    vault = PiiVault(store, PiiSettings())
    await vault.seal_records([("l1", {"email": "ada@acme.example"})])  # ingest made the key
    values = await vault.seal_values("l1", {"recipient": "ada@acme.example", "subject": "Hello Ada"})
    assert values["recipient"].startswith("pii1.") and values["recipient"].endswith("@acme.example")
    assert await vault.open_values("l1", values) == {"recipient": "ada@acme.example", "subject": "Hello Ada"}
    await vault.shred("l1")
    with pytest.raises(SubjectErased):
        await vault.seal_values("l1", {"subject": "Hello Ada"})
    plain = PiiVault(MemoryKeys(), PiiSettings(sealing=False))
    assert await plain.seal_values("l2", {"subject": "Hi"}) == {"subject": "Hi"}


def test_the_key_cache_expires_and_stays_bounded() -> None:
    """An entry lives `seconds`; past `size` entries the least recently used goes first."""
    clock = [0.0]
    cache = KeyCache(size=2, seconds=10, now=lambda: clock[0])
    cache.put("a", b"A")
    cache.put("b", b"B")
    assert cache.get("a") == b"A"
    cache.put("c", b"C")
    assert cache.get("b") is None and cache.get("a") == b"A"
    clock[0] = 11
    assert cache.get("a") is None and cache.get("c") is None


def test_the_documented_sealed_example_opens_with_the_documented_key() -> None:
    """schemas/avro/examples/LeadCaptured/sealed.json is new_lead.json sealed with the bytes 0..31."""
    examples = Path(__file__).resolve().parents[2] / "schemas" / "avro" / "examples" / "LeadCaptured"
    plain, sealed = (json.loads((examples / name).read_text()) for name in ("new_lead.json", "sealed.json"))
    fields = {name: sealed[name] for name in PERSON_FIELDS}
    assert all(is_sealed(v) for v in fields.values()) and sealed["email"].endswith("@northwind-logistics.example")
    assert open_fields(bytes(range(32)), sealed["lead_id"], fields) == {name: plain[name] for name in PERSON_FIELDS}
    assert {k: v for k, v in sealed.items() if k not in PERSON_FIELDS} == {
        k: v for k, v in plain.items() if k not in PERSON_FIELDS
    }


@pytest.mark.parametrize(
    ("example", "opened"),
    [
        ("EmailSent/first_email.json", {"recipient": "ada@example.com", "subject": "Quick question, Ada"}),
        ("TaskCreated/call.json", {"instructions": "Call Ada Lovelace (CTO, Analytical Engines Ltd)."}),
    ],
)
def test_the_documented_sealed_nurture_examples_open_with_the_documented_key(
    example: str, opened: dict[str, str]
) -> None:
    """EmailSent's recipient and subject and TaskCreated's instructions are sealed with the bytes 0..31."""
    value = json.loads((Path(__file__).resolve().parents[2] / "schemas" / "avro" / "examples" / example).read_text())
    assert all(is_sealed(value[name]) for name in opened)
    assert open_fields(bytes(range(32)), value["lead_id"], {name: value[name] for name in opened}) == opened


def test_the_documented_meeting_booking_holds_its_attendee_sealed() -> None:
    """examples/EngagementEvent/meeting_booked.json: the attendee sealed, the meeting's facts readable."""
    examples = Path(__file__).resolve().parents[2] / "schemas" / "avro" / "examples" / "EngagementEvent"
    attributes = json.loads((examples / "meeting_booked.json").read_text())["attributes"]
    person = {name: attributes[name] for name in PERSON_ATTRIBUTES}
    assert open_fields(bytes(range(32)), "lead_3f9d2c4b8a7e4f1d9c6b5a4e3d2c1b0a", person) == {
        "attendee_email": "priya.raman@northwind-logistics.example",
        "attendee_name": "Priya Raman",
    }
    assert attributes["meeting_id"] == "mtg-4e8a1c3d" and attributes["start"].startswith("2024-05-16")


def test_a_stored_key_round_trips_and_a_tombstone_reads_as_no_key() -> None:
    """Keys are stored raw or wrapped; a wrapped key without its master key stops the service loudly."""
    master = new_key()
    assert loaded_key("l1", stored_key("l1", KEY, None), None) == KEY
    assert loaded_key("l1", stored_key("l1", KEY, master), master) == KEY
    assert KEY not in stored_key("l1", KEY, master) and loaded_key("l1", SHREDDED, master) is None
    with pytest.raises(MasterKeyMismatch):
        loaded_key("l1", stored_key("l1", KEY, master), None)
