"""Unit tests of shared/ must not reach a broker or Redis: connecting to their ports fails the test."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from shared.avro_codec import AvroCodec, create_codec

# Kafka and Redis ports on any host: the local stack listens on 127.0.0.1, but "localhost" and
# "::1" reach the same servers.
BLOCKED_PORTS = frozenset({9092, 6379})


def _blocked(address: Any) -> bool:
    return isinstance(address, tuple) and len(address) >= 2 and address[1] in BLOCKED_PORTS


@pytest.fixture(autouse=True)
def block_kafka_and_redis(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Make any socket connection to the broker's or Redis's port fail the test loudly."""
    connect, connect_ex = socket.socket.connect, socket.socket.connect_ex

    def guarded_connect(self: socket.socket, address: Any) -> None:
        if _blocked(address):
            # pytest.fail raises an OutcomeException (a BaseException): code that swallows
            # OSError or Exception, like a readiness check, cannot hide it.
            pytest.fail(f"unit test tried to connect to {address}: use tests/integration for that")
        connect(self, address)

    def guarded_connect_ex(self: socket.socket, address: Any) -> int:
        if _blocked(address):
            pytest.fail(f"unit test tried to connect to {address}: use tests/integration for that")
        return connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect_ex)
    yield


@pytest.fixture(scope="session")
def codec() -> AvroCodec:
    """A codec with no registry: single-object framing."""
    return create_codec()


@pytest.fixture
def registry_codec() -> AvroCodec:
    """A codec on a fresh in-memory Schema Registry: Confluent framing."""
    return create_codec("mock://test")
