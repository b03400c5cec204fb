"""The reconciliation checker and the fault proxy, on their own (no broker, no services)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from tests.faults.proxy import Direction, FaultProxy
from tests.faults.reconcile import Observed, Sent, format_table, reconcile

pytestmark = pytest.mark.faults
SENT = [Sent("a1", "a"), Sent("a2", "a"), Sent("a3", "a"), Sent("b1", "b")]


def test_every_input_seen_once_is_clean() -> None:
    """One observation per input, in order, reconciles with nothing lost, duplicated or reordered."""
    result = reconcile("s", SENT, [Observed(s.event_id, s.key, "assigned", "r1") for s in SENT])
    assert result.clean and result.accounted == 4 and result.outcomes == (("assigned", 4),)


def test_a_gap_before_a_later_record_is_lost_and_a_missing_tail_is_unseen() -> None:
    """a2 is missing while a3 arrived (lost); b1 is missing with nothing after it (unseen)."""
    result = reconcile("s", SENT, [Observed("a1", "a", "assigned"), Observed("a3", "a", "assigned")])
    assert (result.lost, result.unseen) == (1, 1) and set(result.missing) == {"a2", "b1"}


def test_the_same_effect_twice_is_a_redelivery_but_two_effects_are_a_duplicate() -> None:
    """A replayed assignment to the same rep is at-least-once; a second rep for one lead breaks once."""
    replay = [Observed("b1", "b", "assigned", "r1"), Observed("b1", "b", "assigned", "r1")]
    assert (reconcile("s", SENT[3:], replay).duplicates, reconcile("s", SENT[3:], replay).redelivered) == (0, 1)
    twice = [Observed("b1", "b", "assigned", "r1"), Observed("b1", "b", "assigned", "r2")]
    assert reconcile("s", SENT[3:], twice).duplicates == 1


def test_a_record_read_before_an_earlier_input_on_its_key_is_out_of_order() -> None:
    """a2 read before a1 on the same key's stream counts one inversion; other keys do not interfere."""
    seen = [Observed("a2", "a", "assigned"), Observed("b1", "b", "assigned"), Observed("a1", "a", "assigned")]
    assert reconcile("s", SENT, seen).out_of_order == 1


def test_the_table_has_a_row_per_scenario_under_the_headers() -> None:
    """The printed table names every column and carries each scenario's figures."""
    table = format_table([reconcile("kill -9", SENT, [Observed("a1", "a", "assigned")])])
    header, _, row = table.splitlines()
    assert header.split()[:3] == ["scenario", "events", "in"] and row.split()[:4] == ["kill", "-9", "4", "1"]


@pytest.fixture
def echo() -> Iterator[int]:
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=lambda c=conn: [c.sendall(d) for d in iter(lambda: c.recv(1024), b"")]).start()

    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()[1]
    server.close()


def roundtrip(port: int, timeout: float = 1.0) -> bytes:
    """The echo of b"ping"; b"" when the connection is closed or reset on us."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        try:
            conn.sendall(b"ping")
            return conn.recv(16)
        except ConnectionError:
            return b""


def test_the_proxy_forwards_drops_cuts_and_heals(echo: int) -> None:
    """Bytes pass, a dropped direction times out, a cut refuses, and heal restores forwarding."""
    proxy = FaultProxy(echo)
    port = proxy.start()
    try:
        assert roundtrip(port) == b"ping"
        proxy.drop(Direction.DOWNSTREAM)
        with pytest.raises(TimeoutError):
            roundtrip(port, 0.5)
        proxy.heal()
        proxy.cut()
        assert roundtrip(port) == b""
        proxy.heal()
        assert roundtrip(port) == b"ping"
    finally:
        proxy.stop()
