"""Record dataclasses: the bridge to and from the codec's dicts loses nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared import records
from shared.avro_codec import AvroCodec
from shared.records import LeadAssigned, LeadScored, ScoreFactor, from_avro, to_avro
from shared.tests import example_id, example_paths, load_json

# Examples whose record has a mirror dataclass in shared/records.py.
MIRRORED = [path for path in example_paths() if hasattr(records, path.parent.name)]


def decoded(codec: AvroCodec, path: Path) -> dict[str, object]:
    return codec.decode_as(codec.encode(path.parent.name, load_json(path)), path.parent.name)


@pytest.mark.parametrize("path", MIRRORED, ids=example_id)
def test_from_avro_inverts_to_avro(codec: AvroCodec, path: Path) -> None:
    """from_avro(cls, to_avro(x)) == x for every example's record."""
    cls = getattr(records, path.parent.name)
    record = from_avro(cls, decoded(codec, path))
    assert from_avro(cls, to_avro(record)) == record


@pytest.mark.parametrize("path", MIRRORED, ids=example_id)
def test_dataclass_survives_the_codec(codec: AvroCodec, path: Path) -> None:
    """A record dataclass encoded through to_avro decodes back to an equal dataclass."""
    cls = getattr(records, path.parent.name)
    record = from_avro(cls, decoded(codec, path))
    again = codec.decode_as(codec.encode(cls.RECORD, to_avro(record)), cls.RECORD)
    assert from_avro(cls, again) == record


def test_nested_records_become_dataclasses_and_tuples(codec: AvroCodec) -> None:
    """Arrays of records decode to tuples of frozen dataclasses, so records stay hashable values."""
    path = next(p for p in MIRRORED if example_id(p) == "LeadScored/hot_lead")
    scored = from_avro(LeadScored, decoded(codec, path))
    assert isinstance(scored.explanation, tuple)
    assert all(isinstance(factor, ScoreFactor) for factor in scored.explanation)
    assert scored.explanation[3].occurred_at == datetime(2024, 5, 14, 12, 0, tzinfo=UTC)
    assert hash(scored.explanation) == hash(from_avro(LeadScored, to_avro(scored)).explanation)


def test_to_avro_turns_tuples_into_lists() -> None:
    """The codec gets lists for arrays, as fastavro's validation expects."""
    assigned = LeadAssigned(
        event_id="l1:assigned",
        lead_id="l1",
        email="a@b.example",
        occurred_at=datetime(2024, 1, 1, tzinfo=UTC),
        rule="enterprise-na",
        reason="round robin",
        sla_due_at=datetime(2024, 1, 1, 1, tzinfo=UTC),
        candidates=(records.RoutingCandidate("rep-1", "chosen", "round_robin"),),
    )
    assert to_avro(assigned)["candidates"] == [{"rep_id": "rep-1", "outcome": "chosen", "reason": "round_robin"}]


def test_from_avro_ignores_fields_from_newer_writers() -> None:
    """A field this version does not know (added later with a default) is dropped, not an error."""
    value = {"rep_id": "r1", "outcome": "chosen", "reason": "round_robin", "added_later": 3}
    assert from_avro(records.RoutingCandidate, value) == records.RoutingCandidate("r1", "chosen", "round_robin")
