"""A TCP fault proxy on 127.0.0.1 between a service and Redis or the broker: delay, drop, cut.

Runs its own asyncio loop in a daemon thread so synchronous tests can flip faults while services
talk through it. It forwards bytes and nothing else: it never parses a protocol.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from enum import StrEnum

LOOPBACK = "127.0.0.1"
CHUNK = 65536


class Direction(StrEnum):
    UPSTREAM = "upstream"  # client -> server (requests)
    DOWNSTREAM = "downstream"  # server -> client (replies)
    BOTH = "both"


@dataclass
class Faults:
    """The proxy's current behaviour; read by every pump on every chunk."""

    delay_seconds: float = 0.0
    drop: frozenset[Direction] = frozenset()
    refuse: bool = False
    # Once a forwarded request chunk contains these bytes, replies are dropped (see lose_replies_after).
    trip_on: bytes = b""
    tripped: bool = False

    def drops(self, direction: Direction) -> bool:
        return direction in self.drop or Direction.BOTH in self.drop


@dataclass
class FaultProxy:
    """Listens on a free loopback port and forwards to `upstream_port` on 127.0.0.1."""

    upstream_port: int
    faults: Faults = field(default_factory=Faults)
    port: int = 0
    connections_total: int = 0
    _loop: asyncio.AbstractEventLoop | None = None
    _server: asyncio.Server | None = None
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)

    def start(self) -> int:
        """Start listening; returns the port services should connect to."""
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._run, args=(ready,), daemon=True, name=f"proxy-{self.upstream_port}").start()
        if not ready.wait(10):
            raise RuntimeError("fault proxy did not start")
        return self.port

    def _run(self, ready: threading.Event) -> None:
        assert self._loop is not None
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(asyncio.start_server(self._accept, LOOPBACK, self.port))
        self.port = self._server.sockets[0].getsockname()[1]
        ready.set()
        self._loop.run_forever()

    def url(self, scheme: str = "redis", path: str = "/0") -> str:
        return f"{scheme}://{LOOPBACK}:{self.port}{path}"

    def delay(self, seconds: float) -> None:
        """Hold every chunk `seconds` before forwarding it (0 turns the delay off)."""
        self.faults.delay_seconds = seconds

    def drop(self, direction: Direction = Direction.BOTH) -> None:
        """Swallow bytes in `direction`: connections stay open and the peer waits (a black hole)."""
        self.faults.drop = self.faults.drop | {direction}

    def lose_replies_after(self, request: bytes) -> None:
        """Forward everything until a request containing `request` has gone upstream, then drop every reply.

        The command runs on the server but its client never hears back: the lost-reply window a
        plain black hole cannot reach (it would swallow the connection handshake first).
        """
        self.faults.trip_on, self.faults.tripped = request, False

    def cut(self) -> None:
        """Close every open connection and refuse new ones (closed at once after accept)."""
        self.faults.refuse = True
        self._call(self._close_all)

    def heal(self) -> None:
        """Forward everything again, at once."""
        self.faults.delay_seconds, self.faults.drop, self.faults.refuse = 0.0, frozenset(), False
        self.faults.trip_on = b""

    def stop(self) -> None:
        if self._loop is None:
            return
        self._call(self._shutdown)
        self._loop.call_soon_threadsafe(self._loop.stop)

    def _call(self, action: object) -> None:
        assert self._loop is not None
        future = asyncio.run_coroutine_threadsafe(action(), self._loop)  # type: ignore[operator]
        future.result(10)

    async def _close_all(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        await self._close_all()
        for task in asyncio.all_tasks() - {asyncio.current_task()}:
            task.cancel()

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self.connections_total += 1
        if self.faults.refuse:
            client_writer.transport.abort()
            return
        try:
            server_reader, server_writer = await asyncio.open_connection(LOOPBACK, self.upstream_port)
        except OSError:
            client_writer.transport.abort()
            return
        self._writers |= {client_writer, server_writer}
        await asyncio.gather(
            self._pump(client_reader, server_writer, Direction.UPSTREAM),
            self._pump(server_reader, client_writer, Direction.DOWNSTREAM),
        )
        for writer in (client_writer, server_writer):
            self._writers.discard(writer)
            writer.transport.abort()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, direction: Direction) -> None:
        try:
            while chunk := await reader.read(CHUNK):
                if self.faults.delay_seconds:
                    await asyncio.sleep(self.faults.delay_seconds)
                if self.faults.drops(direction):
                    continue
                if direction is Direction.UPSTREAM and self.faults.trip_on and self.faults.trip_on in chunk:
                    # Before forwarding: the reply cannot beat the switch.
                    self.faults.trip_on, self.faults.tripped = b"", True
                    self.drop(Direction.DOWNSTREAM)
                writer.write(chunk)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            # One side ended: end the other too, as a real network partition would look to both.
            writer.transport.abort()
