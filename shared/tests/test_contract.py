"""The contract folder is whole: schemas, examples, topics and record dataclasses agree."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from shared import records
from shared.avro_codec import AvroCodec, SchemaCatalog
from shared.cli import topics_markdown
from shared.dead_letters import RecordMeta, dead_letter_headers
from shared.tests import (
    EXAMPLE_DIR,
    SCHEMA_DIR,
    example_id,
    example_paths,
    load_json,
    named_records,
    schema_json,
)
from shared.topics import TOPICS

CATALOG = SchemaCatalog.load()
SCHEMA_NAMES = sorted(path.stem for path in SCHEMA_DIR.glob("*.avsc"))


def test_catalog_holds_every_schema_file() -> None:
    """Every .avsc in schemas/avro is loaded under its file name, which is its record name."""
    assert sorted(CATALOG.current) == SCHEMA_NAMES
    assert len(SCHEMA_NAMES) >= 7


@pytest.mark.parametrize("record", SCHEMA_NAMES)
def test_every_schema_has_an_example(record: str) -> None:
    """Each schema has at least one example payload beside it."""
    assert list((EXAMPLE_DIR / record).glob("*.json")), f"add schemas/avro/examples/{record}/<name>.json"


@pytest.mark.parametrize("record", ["LeadSubmitted", "EngagementEvent"])
def test_inbound_records_have_minimal_and_full_examples(record: str) -> None:
    """Upstream-facing records show the least and the most an integrator can send."""
    schema = schema_json(record)
    required = {f["name"] for f in schema["fields"] if "default" not in f}
    minimal, full = (load_json(EXAMPLE_DIR / record / f"{name}.json") for name in ("minimal", "full"))
    lead_or_email = {"email"} if record == "EngagementEvent" else set()
    assert set(minimal) == required | lead_or_email
    assert set(full) == {f["name"] for f in schema["fields"]}


def test_example_folders_name_known_records() -> None:
    """No example sits in a folder whose record the contract does not define."""
    assert {path.parent.name for path in example_paths()} <= set(SCHEMA_NAMES)


@pytest.mark.parametrize("path", example_paths(), ids=example_id)
def test_every_example_decodes(codec: AvroCodec, path: Path) -> None:
    """Every example encodes and decodes as the record its folder names."""
    record = path.parent.name
    assert codec.decode(codec.encode(record, load_json(path)))[0] == record


@pytest.mark.parametrize("spec", [t for t in TOPICS if t.record], ids=lambda t: t.name)
def test_every_topic_record_has_a_schema(spec: Any) -> None:
    """A topic that carries a record names one defined in schemas/avro."""
    assert spec.record in CATALOG.current


def test_every_schema_is_carried_by_a_topic() -> None:
    """No schema is orphaned: each record is the value type of some registry topic."""
    assert set(SCHEMA_NAMES) <= {t.record for t in TOPICS if t.record}


def dataclass_defaults(cls: type) -> dict[str, Any]:
    """Field name to default in Avro JSON form; required fields map to MISSING."""
    result: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        result[f.name] = list(default) if isinstance(default, tuple) else default
    return result


def schema_defaults(record: dict[str, Any]) -> dict[str, Any]:
    return {f["name"]: f.get("default", dataclasses.MISSING) for f in record["fields"]}


RECORD_PAIRS = [
    pytest.param(record, getattr(records, record["name"]), id=record["name"])
    for name in SCHEMA_NAMES
    for record in named_records(schema_json(name))
    if dataclasses.is_dataclass(getattr(records, record["name"], None))
]


SPINE = {
    "LeadSubmitted",
    "EngagementEvent",
    "LeadCaptured",
    "LeadScored",
    "LeadQualified",
    "LeadAssigned",
    "RepProfile",
    "ScoreFactor",
    "RoutingCandidate",
}


def test_record_dataclasses_exist_for_the_spine() -> None:
    """The spine's records and their nested records have mirrors in shared/records.py, so they are checked."""
    assert {param.id for param in RECORD_PAIRS} >= SPINE


@pytest.mark.parametrize(("record", "cls"), RECORD_PAIRS)
def test_dataclass_mirrors_schema_fields_and_defaults(record: dict[str, Any], cls: type) -> None:
    """The dataclass has exactly the schema's field names, and the same defaults."""
    assert dataclass_defaults(cls) == schema_defaults(record)


README = (SCHEMA_DIR / "README.md").read_text(encoding="utf-8")


def readme_block(name: str) -> str:
    return README.split(f"<!-- {name}:start -->\n", 1)[1].split(f"<!-- {name}:end -->", 1)[0].strip()


def test_readme_topic_table_matches_the_registry() -> None:
    """The README's topic table is the registry's current rendering (`salesflow topics list --markdown`)."""
    assert readme_block("topics") == topics_markdown(TOPICS)


def test_readme_worked_example_matches_the_codec(codec: AvroCodec) -> None:
    """The hex dump of the minimal lead in the README is what the codec writes today."""
    data = codec.encode("LeadSubmitted", load_json(EXAMPLE_DIR / "LeadSubmitted" / "minimal.json"))
    dump = readme_block("minimal-lead").strip("`\n")
    assert bytes.fromhex(dump.replace("\n", " ")) == data


def test_readme_names_every_dead_letter_header() -> None:
    """Each header the runtime puts on a dead letter is documented for integrators."""
    meta = RecordMeta("leads.inbound", 0, 0, None, None)
    headers = dead_letter_headers(meta, ValueError("x"), "ingest", datetime(2024, 1, 1, tzinfo=UTC))
    assert all(f"| `{name}` |" in README for name, _value in headers)
