"""The conftest guard: unit tests cannot reach Kafka or Redis."""

from __future__ import annotations

import asyncio
import socket

import pytest
from _pytest.outcomes import Failed


@pytest.mark.parametrize("address", [("127.0.0.1", 9092), ("127.0.0.1", 6379), ("localhost", 6379)])
def test_connect_to_broker_or_redis_fails_the_test(address: tuple[str, int]) -> None:
    """A blocking connect to the broker's or Redis's port fails the test instead of connecting."""
    with socket.socket() as sock, pytest.raises(Failed, match="unit test tried to connect"):
        sock.connect(address)


def test_connect_ex_is_guarded_too() -> None:
    """connect_ex, which returns an error code instead of raising, is guarded as well."""
    with socket.socket() as sock, pytest.raises(Failed):
        sock.connect_ex(("127.0.0.1", 9092))


def test_asyncio_connection_to_redis_fails_the_test() -> None:
    """redis-py and aiokafka connect through asyncio, which goes through the same guard."""
    with pytest.raises(Failed):
        asyncio.run(asyncio.open_connection("127.0.0.1", 6379))


def test_other_ports_are_not_blocked() -> None:
    """The guard is narrow: a local listener on another port still accepts connections."""
    with socket.create_server(("127.0.0.1", 0)) as server, socket.socket() as client:
        client.connect(server.getsockname())
        assert client.getpeername() == server.getsockname()
