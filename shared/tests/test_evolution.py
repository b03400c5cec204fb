"""Schema evolution: old versions in schemas/avro/history/ stay readable by the current schemas."""

from __future__ import annotations

import copy
import io
import json
import shutil
from pathlib import Path
from typing import Any

import fastavro
import pytest
from fastavro.utils import generate_many

from shared.avro_codec import DecodeError, create_codec
from shared.tests import SCHEMA_DIR, load_json, named_records, schema_json

HISTORY_DIR = SCHEMA_DIR / "history"
SCHEMA_NAMES = sorted(path.stem for path in SCHEMA_DIR.glob("*.avsc"))


def fields_added_without_default(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """`Record.field` for each field `new` adds to a record `old` also defines, lacking a default.

    Such a field makes every record written with `old` unreadable by `new`.
    """
    before = {record["name"]: record for record in named_records(old)}
    added = []
    for record in named_records(new):
        if record["name"] not in before:
            continue
        known = {name for f in before[record["name"]]["fields"] for name in [f["name"], *f.get("aliases", [])]}
        new_fields = [f for f in record["fields"] if f["name"] not in known]
        added += [f"{record['name']}.{f['name']}" for f in new_fields if "default" not in f]
    return added


def resolution_error(old: dict[str, Any], new: dict[str, Any], samples: int = 25) -> str | None:
    """Why fastavro cannot read values written with `old` as `new`, or None when it can."""
    writer, reader = fastavro.parse_schema(old, named_schemas={}), fastavro.parse_schema(new, named_schemas={})
    try:
        for value in generate_many(writer, samples):
            buffer = io.BytesIO()
            fastavro.schemaless_writer(buffer, writer, value)
            buffer.seek(0)
            fastavro.schemaless_reader(buffer, writer, reader)
    except Exception as exc:  # fastavro's SchemaResolutionError and friends: the message is the finding
        return f"{type(exc).__name__}: {exc}"
    return None


def history_of(record: str) -> list[dict[str, Any]]:
    """Older versions of `record` kept in schemas/avro/history/ (any file name)."""
    versions = [load_json(path) for path in sorted(HISTORY_DIR.glob("*.avsc"))]
    return [version for version in versions if version["name"] == record]


def test_history_holds_only_versions_of_current_records() -> None:
    """A history file belongs to a record that still exists; a removed record is a breaking change."""
    assert {version["name"] for path in HISTORY_DIR.glob("*.avsc") for version in [load_json(path)]} <= set(
        SCHEMA_NAMES
    )


@pytest.mark.parametrize("record", SCHEMA_NAMES)
def test_current_schema_reads_every_older_version(record: str) -> None:
    """Against each historical version, new fields have defaults and fastavro resolves old -> new."""
    current = schema_json(record)
    assert resolution_error(current, current) is None
    for old in history_of(record):
        assert fields_added_without_default(old, current) == []
        assert resolution_error(old, current) is None


def without_field(schema: dict[str, Any], name: str) -> dict[str, Any]:
    older = copy.deepcopy(schema)
    older["fields"] = [f for f in older["fields"] if f["name"] != name]
    return older


def test_field_added_with_default_is_compatible() -> None:
    """LeadSubmitted gaining utm_campaign (which has a default) passes both checks."""
    new = schema_json("LeadSubmitted")
    old = without_field(new, "utm_campaign")
    assert fields_added_without_default(old, new) == []
    assert resolution_error(old, new) is None


def test_field_added_without_default_is_detected() -> None:
    """A new field with no default is named by the check, and fastavro cannot resolve it either."""
    new = schema_json("LeadSubmitted")
    new["fields"].append({"name": "budget", "type": "long"})
    old = schema_json("LeadSubmitted")
    assert fields_added_without_default(old, new) == ["LeadSubmitted.budget"]
    assert resolution_error(old, new) is not None


def test_nested_field_added_without_default_is_detected() -> None:
    """The check looks inside nested records (LeadScored's ScoreFactor), not just the top level."""
    new = schema_json("LeadScored")
    factor = next(r for r in named_records(new) if r["name"] == "ScoreFactor")
    factor["fields"].append({"name": "weight", "type": "double"})
    assert fields_added_without_default(schema_json("LeadScored"), new) == ["ScoreFactor.weight"]


def test_type_change_is_detected_by_resolution() -> None:
    """Changing a field's type incompatibly (int to string) is caught by fastavro's resolution."""
    old = schema_json("LeadQualified")
    new = copy.deepcopy(old)
    next(f for f in new["fields"] if f["name"] == "score")["type"] = "string"
    assert fields_added_without_default(old, new) == []
    assert resolution_error(old, new) is not None


def test_codec_decodes_records_written_with_a_historical_version(tmp_path: Path) -> None:
    """A record written with a version now in history/ decodes with the current schema's defaults."""
    current_dir, old_dir = tmp_path / "current", tmp_path / "old"
    shutil.copytree(SCHEMA_DIR, current_dir, ignore=shutil.ignore_patterns("examples", "history"))
    shutil.copytree(current_dir, old_dir)
    old = without_field(schema_json("LeadSubmitted"), "utm_campaign")
    (old_dir / "LeadSubmitted.avsc").write_text(json.dumps(old), encoding="utf-8")
    (current_dir / "history").mkdir()
    (current_dir / "history" / "LeadSubmitted.v1.avsc").write_text(json.dumps(old), encoding="utf-8")
    value = {**load_json(SCHEMA_DIR / "examples" / "LeadSubmitted" / "full.json")}
    del value["utm_campaign"]
    data = create_codec(directory=old_dir).encode("LeadSubmitted", value)
    decoded = create_codec(directory=current_dir).decode_as(data, "LeadSubmitted")
    assert decoded["utm_campaign"] is None
    assert decoded["utm_source"] == value["utm_source"]


def test_codec_without_the_history_refuses_an_old_version(tmp_path: Path) -> None:
    """Dropping a version from history/ makes its records unknown: history files must stay."""
    old_dir = tmp_path / "old"
    shutil.copytree(SCHEMA_DIR, old_dir, ignore=shutil.ignore_patterns("examples", "history"))
    old = without_field(schema_json("LeadSubmitted"), "utm_campaign")
    (old_dir / "LeadSubmitted.avsc").write_text(json.dumps(old), encoding="utf-8")
    minimal = {"event_id": "e-1", "occurred_at": 0, "source": "api", "email": "a@b.example"}
    data = create_codec(directory=old_dir).encode("LeadSubmitted", minimal)
    with pytest.raises(DecodeError, match="unknown schema fingerprint"):
        create_codec(directory=SCHEMA_DIR).decode(data)
