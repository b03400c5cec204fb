"""The Avro codec: one catalog of the contract's schemas, two framings.

Single-object encoding (C3 01 + CRC-64-AVRO fingerprint, little-endian) without a registry; the
Confluent wire format (00 + 4-byte schema id) with one. Decoders accept both. Library errors become
`DecodeError`/`EncodeError` here, at the edge; nothing else in salesflow sees fastavro's.
"""

from __future__ import annotations

import functools
import io
import json
import os
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import fastavro
from fastavro.schema import to_parsing_canonical_form
from fastavro.validation import validate

SINGLE_OBJECT_MAGIC = b"\xc3\x01"
CONFLUENT_MAGIC = b"\x00"
_CRC64_EMPTY = 0xC15D213AA4D7A795


class DecodeError(ValueError):
    """Bytes that are not a record of the contract (bad frame, unknown schema, corrupt body)."""


class EncodeError(ValueError):
    """A value that does not fit its record's schema."""


def _crc64_table() -> tuple[int, ...]:
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (_CRC64_EMPTY & -(fp & 1))
        table.append(fp)
    return tuple(table)


_CRC64_TABLE = _crc64_table()


def crc64_avro(data: bytes) -> int:
    """The Avro spec's 64-bit Rabin fingerprint ("CRC-64-AVRO")."""
    fp = _CRC64_EMPTY
    for byte in data:
        fp = (fp >> 8) ^ _CRC64_TABLE[(fp ^ byte) & 0xFF]
    return fp


@dataclass(frozen=True)
class AvroSchema:
    """One parsed record schema of the contract."""

    name: str
    parsed: Any
    canonical: str
    fingerprint: int
    source: str

    @classmethod
    def from_json(cls, text: str) -> AvroSchema:
        parsed: Any = fastavro.parse_schema(json.loads(text), named_schemas={})
        canonical = to_parsing_canonical_form(parsed)
        name = parsed["name"].rsplit(".", 1)[-1]
        return cls(name, parsed, canonical, crc64_avro(canonical.encode()), text)


def default_schema_dir() -> Path:
    """`SALESFLOW_SCHEMA_DIR`, else schemas/avro at the repository root."""
    configured = os.environ.get("SALESFLOW_SCHEMA_DIR")
    return Path(configured) if configured else Path(__file__).resolve().parents[1] / "schemas" / "avro"


class SchemaCatalog:
    """Current schemas by record name, and every known writer schema by fingerprint.

    Older versions kept in `history/` stay decodable: they are writer schemas resolved against
    the current reader schema of the same name.
    """

    def __init__(self, current: Mapping[str, AvroSchema], writers: Mapping[int, AvroSchema]) -> None:
        self.current = dict(current)
        self.writers = dict(writers)

    @classmethod
    def load(cls, directory: Path | None = None) -> SchemaCatalog:
        directory = directory or default_schema_dir()
        current = {s.name: s for s in _read_dir(directory)}
        writers = {s.fingerprint: s for s in _read_dir(directory / "history")}
        writers |= {s.fingerprint: s for s in current.values()}
        return cls(current, writers)

    def schema(self, name: str) -> AvroSchema:
        try:
            return self.current[name]
        except KeyError:
            raise EncodeError(f"no schema for record {name!r} in schemas/avro") from None


def _read_dir(directory: Path) -> list[AvroSchema]:
    if not directory.is_dir():
        return []
    return [AvroSchema.from_json(p.read_text(encoding="utf-8")) for p in sorted(directory.glob("*.avsc"))]


class SchemaRegistry(Protocol):
    """The part of confluent-kafka's SchemaRegistryClient the codec uses."""

    def register_schema(self, subject_name: str, schema: Any) -> int: ...

    def get_schema(self, schema_id: int) -> Any: ...


class AvroCodec:
    """Encodes and decodes contract records. Thread-compatible; caches registry look-ups."""

    def __init__(self, catalog: SchemaCatalog, registry: SchemaRegistry | None = None) -> None:
        self.catalog = catalog
        self.registry = registry
        self._ids: dict[str, int] = {}
        self._by_id: dict[int, AvroSchema] = {}

    def encode(self, record: str, value: Mapping[str, Any]) -> bytes:
        """Frame and encode `value` as `record` (single-object, or Confluent with a registry)."""
        schema = self.catalog.schema(record)
        body = _write_body(schema, value)
        if self.registry is None:
            return SINGLE_OBJECT_MAGIC + struct.pack("<Q", schema.fingerprint) + body
        return CONFLUENT_MAGIC + struct.pack(">I", self._schema_id(schema)) + body

    def decode(self, data: bytes) -> tuple[str, dict[str, Any]]:
        """The record name and its value; DecodeError for anything that is not a whole record."""
        if data[:2] == SINGLE_OBJECT_MAGIC and len(data) >= 10:
            (fingerprint,) = struct.unpack("<Q", data[2:10])
            writer = self.catalog.writers.get(fingerprint)
            if writer is None:
                raise DecodeError(f"unknown schema fingerprint {fingerprint:#018x}")
            return writer.name, self._read_body(writer, data[10:])
        if data[:1] == CONFLUENT_MAGIC and len(data) >= 5:
            (schema_id,) = struct.unpack(">I", data[1:5])
            writer = self._writer_by_id(schema_id)
            return writer.name, self._read_body(writer, data[5:])
        raise DecodeError("not an Avro record: neither single-object (C3 01) nor Confluent (00) framing")

    def decode_as(self, data: bytes, record: str) -> dict[str, Any]:
        """Decode and insist on the record type a topic carries."""
        name, value = self.decode(data)
        if name != record:
            raise DecodeError(f"expected a {record} record, got {name}")
        return value

    def _read_body(self, writer: AvroSchema, body: bytes) -> dict[str, Any]:
        reader = self.catalog.current.get(writer.name, writer)
        buffer = io.BytesIO(body)
        try:
            value = fastavro.schemaless_reader(buffer, writer.parsed, reader.parsed)
        except Exception as exc:  # fastavro raises EOFError, IndexError, UnicodeError, ... on junk
            raise DecodeError(f"corrupt {writer.name} body: {type(exc).__name__}: {exc}") from exc
        if buffer.tell() != len(body):
            raise DecodeError(f"{len(body) - buffer.tell()} trailing bytes after a {writer.name} record")
        if not isinstance(value, dict):
            raise DecodeError(f"{writer.name} did not decode to a record")
        return value

    def _schema_id(self, schema: AvroSchema) -> int:
        if schema.name not in self._ids:
            from confluent_kafka.schema_registry import Schema

            assert self.registry is not None
            # RecordNameStrategy: one subject per record, since several topics share a record type.
            subject = schema.parsed["name"]
            self._ids[schema.name] = self.registry.register_schema(subject, Schema(schema.source, "AVRO"))
        return self._ids[schema.name]

    def _writer_by_id(self, schema_id: int) -> AvroSchema:
        if schema_id not in self._by_id:
            if self.registry is None:
                raise DecodeError(f"Confluent-framed record (schema id {schema_id}) but no registry configured")
            try:
                registered = self.registry.get_schema(schema_id)
            except Exception as exc:
                raise DecodeError(f"unknown schema id {schema_id}: {exc}") from exc
            self._by_id[schema_id] = AvroSchema.from_json(registered.schema_str)
        return self._by_id[schema_id]


def _write_body(schema: AvroSchema, value: Mapping[str, Any]) -> bytes:
    buffer = io.BytesIO()
    record = dict(value)
    try:
        # The writer checks unions only: without this an int field takes 2**40, a boolean "yes" and
        # an array of strings a bare string, and other-language consumers get bytes they cannot read.
        # The quiet pass is several times cheaper: with raise_errors every union branch that does
        # not match builds an exception. Only a value that fails is checked again, for the message.
        if not validate(record, schema.parsed, raise_errors=False):
            validate(record, schema.parsed, raise_errors=True)
        fastavro.schemaless_writer(buffer, schema.parsed, record, strict_allow_default=True)
    except Exception as exc:  # fastavro raises ValueError, TypeError, KeyError, ... on a bad value
        raise EncodeError(f"{schema.name}: {type(exc).__name__}: {exc}") from exc
    return buffer.getvalue()


def create_codec(schema_registry_url: str = "", directory: Path | None = None) -> AvroCodec:
    """The codec for a service: with a registry client when a URL is configured (`mock://` in tests)."""
    catalog = SchemaCatalog.load(directory)
    if not schema_registry_url:
        return AvroCodec(catalog)
    from confluent_kafka.schema_registry import SchemaRegistryClient

    # new_client returns the in-memory mock client for mock:// URLs.
    return AvroCodec(catalog, SchemaRegistryClient.new_client({"url": schema_registry_url}))


@functools.cache
def enum_symbols(record: str, field: str, directory: Path | None = None) -> tuple[str, ...]:
    """The symbols of an enum field of a contract record, in schema order (one source for validators)."""
    schema = json.loads(((directory or default_schema_dir()) / f"{record}.avsc").read_text(encoding="utf-8"))
    (field_type,) = [f["type"] for f in schema["fields"] if f["name"] == field]
    if not isinstance(field_type, dict) or field_type.get("type") != "enum":
        raise ValueError(f"{record}.{field} is not an enum")
    return tuple(field_type["symbols"])
