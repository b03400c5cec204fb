"""Unit tests of the shared library and the Avro contract, plus readers for the contract folder."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from shared.avro_codec import AvroCodec, DecodeError

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas" / "avro"
EXAMPLE_DIR = SCHEMA_DIR / "examples"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def example_paths() -> list[Path]:
    """Every example payload, as schemas/avro/examples/<Record>/<name>.json."""
    return sorted(EXAMPLE_DIR.glob("*/*.json"))


def example_id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def schema_json(record: str, directory: Path = SCHEMA_DIR) -> dict[str, Any]:
    result: dict[str, Any] = load_json(directory / f"{record}.avsc")
    return result


def plain(value: Any) -> Any:
    """A decoded value in the examples' JSON form: timestamps as epoch milliseconds, dates as epoch days."""
    if isinstance(value, datetime):
        return (value - EPOCH) // timedelta(milliseconds=1)
    if isinstance(value, date):
        return (value - EPOCH.date()).days
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


def with_defaults(schema: Any, value: Any) -> Any:
    """`value` with every omitted field filled from the schema's defaults, recursively."""
    if isinstance(schema, list):
        branches = [branch for branch in schema if branch != "null"]
        return None if value is None else with_defaults(branches[0], value)
    if not isinstance(schema, dict):
        return value
    if schema["type"] == "record":
        return {
            f["name"]: with_defaults(f["type"], value[f["name"]] if f["name"] in value else f["default"])
            for f in schema["fields"]
        }
    if schema["type"] == "array":
        return [with_defaults(schema["items"], item) for item in value]
    if schema["type"] == "map":
        return {key: with_defaults(schema["values"], item) for key, item in value.items()}
    return value


def named_records(schema: Any) -> Iterator[dict[str, Any]]:
    """Every record definition inside a schema, the top-level one first."""
    if isinstance(schema, list):
        for branch in schema:
            yield from named_records(branch)
    elif isinstance(schema, dict):
        if schema.get("type") == "record":
            yield schema
            for f in schema["fields"]:
                yield from named_records(f["type"])
        else:
            yield from named_records(schema.get("items"))
            yield from named_records(schema.get("values"))


def decodes_or_decode_error(codec: AvroCodec, data: bytes) -> None:
    """`data` decodes to a record of the codec's current schemas, or raises DecodeError: never anything else."""
    try:
        name, value = codec.decode(data)
    except DecodeError:
        return
    assert name in codec.catalog.current and isinstance(value, dict)
