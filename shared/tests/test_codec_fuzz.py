"""The decoder's fuzz target: every schema example, in both framings, mutated byte by byte.

A fixed budget (FUZZ_EXAMPLES mutated records, derandomized so CI runs the same inputs every
time) must pass without a crash: each input decodes to a known record or raises DecodeError,
never anything else. The seeds are the real encodings of schemas/avro/examples, so mutations
reach deep into fastavro's readers instead of stopping at the frame header.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.avro_codec import SchemaCatalog, create_codec
from shared.tests import decodes_or_decode_error, example_paths, load_json

# Raise it locally for a longer run: SALESFLOW_FUZZ_EXAMPLES=200000 pytest shared/tests/test_codec_fuzz.py
FUZZ_EXAMPLES = int(os.environ.get("SALESFLOW_FUZZ_EXAMPLES", "1500"))
CATALOG = SchemaCatalog.load()
SINGLE_OBJECT = create_codec()
CONFLUENT = create_codec("mock://fuzz")
SEEDS = [
    codec.encode(path.parent.name, load_json(path)) for codec in (SINGLE_OBJECT, CONFLUENT) for path in example_paths()
]
BUDGET = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def flip(data: bytes, at: int, bit: int) -> bytes:
    at %= len(data)
    return data[:at] + bytes([data[at] ^ (1 << bit)]) + data[at + 1 :]


def overwrite(data: bytes, at: int, value: bytes) -> bytes:
    at %= len(data)
    return data[:at] + value + data[at + len(value) :]


def insert(data: bytes, at: int, value: bytes) -> bytes:
    at %= len(data) + 1
    return data[:at] + value + data[at:]


def delete(data: bytes, at: int, length: int) -> bytes:
    at %= len(data)
    return data[:at] + data[at + length :]


def repeat(data: bytes, at: int, length: int) -> bytes:
    """A slice doubled in place: repeated varints and lengths, the classic way to fake a long array."""
    at %= len(data)
    return data[: at + length] + data[at : at + length] + data[at + length :]


positions = st.integers(min_value=0, max_value=4096)
MUTATION = st.one_of(
    st.builds(lambda at, bit: lambda d: flip(d, at, bit), positions, st.integers(0, 7)),
    st.builds(lambda at, v: lambda d: overwrite(d, at, v), positions, st.binary(min_size=1, max_size=8)),
    # Bytes a varint reader loves: continuation bits, the largest zigzag values, zero.
    st.builds(lambda at, v: lambda d: overwrite(d, at, v), positions, st.sampled_from([b"\xff" * 9, b"\x80", b"\x00"])),
    st.builds(lambda at, v: lambda d: insert(d, at, v), positions, st.binary(min_size=1, max_size=16)),
    st.builds(lambda at, n: lambda d: delete(d, at, n), positions, st.integers(1, 16)),
    st.builds(lambda at, n: lambda d: repeat(d, at, n), positions, st.integers(1, 16)),
)


@BUDGET
@given(seed=st.sampled_from(SEEDS), mutations=st.lists(MUTATION, min_size=1, max_size=4))
def test_mutated_examples_decode_or_raise_decode_error(seed: bytes, mutations: list) -> None:  # type: ignore[type-arg]
    """Up to four mutations of a real record: it decodes to a known record or raises DecodeError."""
    data = seed
    for mutate in mutations:
        data = mutate(data) if data else data
    for codec in (SINGLE_OBJECT, CONFLUENT):
        decodes_or_decode_error(codec, data)


def test_every_seed_decodes_unmutated() -> None:
    """The seeds are valid records: a failure in the fuzz test is the mutation's, not the seed's."""
    for data in SEEDS:
        assert CONFLUENT.decode(data)[0] in CATALOG.current
