"""The Avro codec: both framings round-trip every example; junk is always a DecodeError."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import pytest
from fastavro.schema import fingerprint
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.avro_codec import (
    CONFLUENT_MAGIC,
    SINGLE_OBJECT_MAGIC,
    AvroCodec,
    DecodeError,
    EncodeError,
    SchemaCatalog,
    crc64_avro,
    create_codec,
)
from shared.tests import (
    decodes_or_decode_error,
    example_id,
    example_paths,
    load_json,
    plain,
    schema_json,
    with_defaults,
)

EXAMPLES = example_paths()
CATALOG = SchemaCatalog.load()
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def expected(path: Path) -> Any:
    return with_defaults(schema_json(path.parent.name), load_json(path))


def encoded_examples(codec: AvroCodec) -> list[bytes]:
    return [codec.encode(path.parent.name, load_json(path)) for path in EXAMPLES]


@pytest.mark.parametrize("path", EXAMPLES, ids=example_id)
def test_single_object_round_trip(codec: AvroCodec, path: Path) -> None:
    """Without a registry an example is framed C3 01 + fingerprint and decodes to itself plus defaults."""
    record = path.parent.name
    data = codec.encode(record, load_json(path))
    assert data[:2] == SINGLE_OBJECT_MAGIC
    assert struct.unpack("<Q", data[2:10])[0] == CATALOG.schema(record).fingerprint
    name, value = codec.decode(data)
    assert (name, plain(value)) == (record, expected(path))


@pytest.mark.parametrize("path", EXAMPLES, ids=example_id)
def test_confluent_round_trip(registry_codec: AvroCodec, path: Path) -> None:
    """With a registry an example is framed 00 + schema id and decodes to itself plus defaults."""
    record = path.parent.name
    data = registry_codec.encode(record, load_json(path))
    assert data[:1] == CONFLUENT_MAGIC
    assert registry_codec.registry is not None
    registered = registry_codec.registry.get_schema(struct.unpack(">I", data[1:5])[0])
    assert registered.schema_str == CATALOG.schema(record).source
    assert plain(registry_codec.decode_as(data, record)) == expected(path)


def test_confluent_subjects_follow_record_name_strategy(registry_codec: AvroCodec) -> None:
    """Schemas are registered under the record's full name, whichever topic carries them."""
    registry_codec.encode("EngagementEvent", _example("EngagementEvent"))
    assert registry_codec.registry is not None
    subjects = registry_codec.registry.get_subjects()  # type: ignore[attr-defined]
    assert subjects == ["io.salesflow.EngagementEvent"]


def _example(record: str) -> dict[str, Any]:
    return dict(load_json(next(p for p in EXAMPLES if p.parent.name == record)))


def test_decoders_accept_both_framings(codec: AvroCodec, registry_codec: AvroCodec) -> None:
    """A codec with a registry still reads single-object records, for producers without one."""
    value = _example("LeadSubmitted")
    single = codec.encode("LeadSubmitted", value)
    assert plain(registry_codec.decode_as(single, "LeadSubmitted")) == plain(codec.decode_as(single, "LeadSubmitted"))


@pytest.mark.parametrize("record", sorted(CATALOG.current))
def test_fingerprint_matches_fastavro(record: str) -> None:
    """The frame's fingerprint is fastavro's CRC-64-AVRO of the canonical form, as little-endian bytes."""
    schema = CATALOG.schema(record)
    assert struct.pack("<Q", schema.fingerprint) == bytes.fromhex(fingerprint(schema.canonical, "CRC-64-AVRO"))


def test_crc64_matches_the_avro_spec_vector() -> None:
    """CRC-64-AVRO of the canonical form "null" is the value the Avro test suite lists."""
    assert crc64_avro(b'"null"') == 7195948357588979594


def test_decode_as_rejects_another_record(codec: AvroCodec) -> None:
    """A topic that carries LeadSubmitted refuses a well-formed RepProfile."""
    data = codec.encode("RepProfile", _example("RepProfile"))
    with pytest.raises(DecodeError, match="expected a LeadSubmitted"):
        codec.decode_as(data, "LeadSubmitted")


def test_empty_bytes_are_a_decode_error(codec: AvroCodec) -> None:
    """An empty value (a tombstone, say) is not a record."""
    with pytest.raises(DecodeError):
        codec.decode(b"")


@pytest.mark.parametrize("path", EXAMPLES, ids=example_id)
def test_every_truncation_is_a_decode_error(codec: AvroCodec, registry_codec: AvroCodec, path: Path) -> None:
    """Every proper prefix of an encoded record, in either framing, is a DecodeError."""
    for framed_by in (codec, registry_codec):
        data = framed_by.encode(path.parent.name, load_json(path))
        for end in range(len(data)):
            with pytest.raises(DecodeError):
                framed_by.decode(data[:end])


@pytest.mark.parametrize("path", EXAMPLES, ids=example_id)
def test_trailing_bytes_are_a_decode_error(codec: AvroCodec, path: Path) -> None:
    """A record followed by extra bytes is refused, not silently truncated."""
    data = codec.encode(path.parent.name, load_json(path))
    with pytest.raises(DecodeError, match="trailing"):
        codec.decode(data + b"\x00")


def test_unknown_fingerprint_is_a_decode_error(codec: AvroCodec) -> None:
    """A single-object record written with a schema we do not know is refused by name."""
    body = codec.encode("RepProfile", _example("RepProfile"))[10:]
    with pytest.raises(DecodeError, match="unknown schema fingerprint"):
        codec.decode(SINGLE_OBJECT_MAGIC + struct.pack("<Q", 0x0123456789ABCDEF) + body)


def test_unknown_schema_id_is_a_decode_error(registry_codec: AvroCodec) -> None:
    """A Confluent-framed record whose schema id the registry does not know is refused."""
    with pytest.raises(DecodeError, match="unknown schema id 4242"):
        registry_codec.decode(CONFLUENT_MAGIC + struct.pack(">I", 4242) + b"\x02a")


def test_confluent_frame_without_registry_is_a_decode_error(codec: AvroCodec, registry_codec: AvroCodec) -> None:
    """A Confluent-framed record reaching a service with no registry configured is refused."""
    data = registry_codec.encode("RepProfile", _example("RepProfile"))
    with pytest.raises(DecodeError, match="no registry"):
        codec.decode(data)


@FUZZ
@given(data=st.binary(max_size=200))
def test_random_bytes_raise_only_decode_error(codec: AvroCodec, data: bytes) -> None:
    """Arbitrary bytes either decode to a record or raise DecodeError, never another exception."""
    decodes_or_decode_error(codec, data)


@FUZZ
@given(
    frame=st.sampled_from(encoded_examples(create_codec())),
    cut=st.integers(min_value=10, max_value=400),
    junk=st.binary(max_size=120),
)
def test_valid_header_with_random_body_raises_only_decode_error(
    codec: AvroCodec, frame: bytes, cut: int, junk: bytes
) -> None:
    """A known fingerprint followed by a damaged body reaches fastavro and still yields only DecodeError."""
    decodes_or_decode_error(codec, frame[:cut] + junk)


@FUZZ
# Small ids hit the schema registered below, so bodies reach fastavro too.
@given(body=st.binary(max_size=100), schema_id=st.integers(0, 3) | st.integers(min_value=0, max_value=2**32 - 1))
def test_random_confluent_frames_raise_only_decode_error(
    registry_codec: AvroCodec, body: bytes, schema_id: int
) -> None:
    """Confluent frames with any schema id and body either decode or raise DecodeError."""
    registry_codec.encode("LeadSubmitted", _example("LeadSubmitted"))
    decodes_or_decode_error(registry_codec, CONFLUENT_MAGIC + struct.pack(">I", schema_id) + body)


MISFITS = [
    pytest.param("LeadSubmitted", {"event_id": None}, id="null-in-required-string"),
    pytest.param("LeadSubmitted", {"source": "carrier_pigeon"}, id="unknown-enum-symbol"),
    pytest.param("LeadSubmitted", {"employees": "many"}, id="string-for-int"),
    pytest.param("LeadSubmitted", {"employees": 2**40}, id="int-overflow-in-union"),
    pytest.param("LeadSubmitted", {"occurred_at": "yesterday"}, id="string-for-timestamp"),
    pytest.param("LeadSubmitted", {"attributes": {"score": 3}}, id="int-in-string-map"),
    pytest.param("LeadSubmitted", {"favourite_colour": "teal"}, id="field-not-in-schema"),
    pytest.param("RepProfile", {"capacity": 2**40}, id="int-overflow"),
    pytest.param("RepProfile", {"active": "yes"}, id="string-for-boolean"),
    pytest.param("RepProfile", {"territories": "NA"}, id="string-for-array"),
    pytest.param("LeadScored", {"explanation": [{"name": "x"}]}, id="nested-record-missing-field"),
]


@pytest.mark.parametrize(("record", "change"), MISFITS)
def test_value_that_does_not_fit_is_an_encode_error(codec: AvroCodec, record: str, change: dict[str, Any]) -> None:
    """A value that does not fit its schema raises EncodeError, never writes bytes others cannot read."""
    with pytest.raises(EncodeError, match=record):
        codec.encode(record, {**_example(record), **change})


def test_missing_required_field_is_an_encode_error(codec: AvroCodec) -> None:
    """Leaving out a field without a default is refused."""
    value = _example("LeadSubmitted")
    del value["email"]
    with pytest.raises(EncodeError, match="email"):
        codec.encode("LeadSubmitted", value)


def test_unknown_record_is_an_encode_error(codec: AvroCodec) -> None:
    """Encoding a record name the contract does not define is refused."""
    with pytest.raises(EncodeError, match="LeadTeleported"):
        codec.encode("LeadTeleported", {})


def test_encode_error_names_the_field_that_does_not_fit(codec: AvroCodec) -> None:
    """The error for a misfit names the offending field, so the bad producer can be found."""
    with pytest.raises(EncodeError, match="capacity"):
        codec.encode("RepProfile", {**_example("RepProfile"), "capacity": 2**40})
