"""Counts MongoDB and Redis round trips, by operation, with the bytes each way (benchmarks only).

`python -m bench --only round_trips` starts the app with COUNT_ROUND_TRIPS_VARIABLE naming a
file; only then does the composition root install these counters (`RoundTrips.from_environ`),
so the served path carries none of this otherwise. SIGUSR1 makes the app write a snapshot of
the totals to that file (`{"seq": n, "mongo": {...}, "redis": {...}}`); the bench takes one
before and one after a turn and reports the difference.

A round trip is one request written and its reply read: one pymongo command; one redis-py
`send_packed_command` (a pipeline or MULTI/EXEC block is one, labelled with its commands
joined by "+"). Redis bytes are those of the socket; MongoDB bytes are the BSON sizes of the
command and its reply (the OP_MSG framing, ~21 bytes a message, is not included).
"""

from __future__ import annotations

import collections
import json
import os
import signal
import socket
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import FrameType
from typing import Any

import bson
import redis
import redis.asyncio
from pymongo import monitoring

COUNT_ROUND_TRIPS_VARIABLE = "CHAT_SERVICE_COUNT_ROUND_TRIPS"


class _Tally:
    """Round trips and bytes each way, by operation; safe across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: collections.Counter[str] = collections.Counter()
        self.sent: collections.Counter[str] = collections.Counter()
        self.received = 0

    def call(self, operation: str, sent: int) -> None:
        with self._lock:
            self.calls[operation] += 1
            self.sent[operation] += sent

    def receive(self, size: int) -> None:
        with self._lock:
            self.received += size

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "round_trips": sum(self.calls.values()),
                "by_operation": dict(self.calls),
                "bytes_sent": sum(self.sent.values()),
                "bytes_received": self.received,
            }


class _MongoCounter(monitoring.CommandListener):
    def __init__(self, tally: _Tally) -> None:
        self._tally = tally

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        target = event.command.get(event.command_name)
        name = f"{event.command_name} {target}" if isinstance(target, str) else event.command_name
        self._tally.call(name, len(bson.encode(event.command)))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        self._tally.receive(len(bson.encode(event.reply)))

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


class _CountingSocket:
    """A socket that adds the bytes it receives to a tally; everything else is the socket's."""

    def __init__(self, sock: socket.socket, tally: _Tally) -> None:
        self._sock = sock
        self._tally = tally

    def recv(self, size: int, *flags: int) -> bytes:
        data = self._sock.recv(size, *flags)
        if not flags:
            self._tally.receive(len(data))
        return data

    def recv_into(self, buffer: Any, *args: int) -> int:
        size = self._sock.recv_into(buffer, *args)
        self._tally.receive(size)
        return size

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class _CountingReader:
    """An asyncio StreamReader that adds the bytes it returns to a tally."""

    def __init__(self, reader: Any, tally: _Tally) -> None:
        self._reader = reader
        self._tally = tally

    async def read(self, size: int = -1) -> bytes:
        data: bytes = await self._reader.read(size)
        self._tally.receive(len(data))
        return data

    async def readline(self) -> bytes:
        data: bytes = await self._reader.readline()
        self._tally.receive(len(data))
        return data

    async def readexactly(self, size: int) -> bytes:
        data: bytes = await self._reader.readexactly(size)
        self._tally.receive(len(data))
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reader, name)


def _name(args: Iterable[Any]) -> str:
    first = next(iter(args), b"?")
    text = first.decode() if isinstance(first, bytes) else str(first)
    return text.split(" ", 1)[0].upper()


def _size(command: Any) -> int:
    if isinstance(command, str | bytes | memoryview):
        return len(command)
    return sum(len(chunk) for chunk in command)


class RoundTrips:
    """The counters of one app process, for MongoDB (a command listener) and Redis (connection
    classes for the sync and the asyncio client)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.mongo = _Tally()
        self.redis = _Tally()
        self._seq = 0
        self.mongo_listener: monitoring.CommandListener = _MongoCounter(self.mongo)
        self.redis_connection_class = self._sync_class()
        self.async_redis_connection_class = self._async_class()

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ) -> RoundTrips | None:
        """Returns counters writing to the file COUNT_ROUND_TRIPS_VARIABLE names (and answering
        SIGUSR1), or None when it is unset: the normal case."""
        path = environ.get(COUNT_ROUND_TRIPS_VARIABLE, "").strip()
        if not path:
            return None
        counters = cls(Path(path))
        signal.signal(signal.SIGUSR1, counters._on_signal)
        return counters

    def snapshot(self) -> dict[str, Any]:
        """The totals so far."""
        return {"mongo": self.mongo.snapshot(), "redis": self.redis.snapshot()}

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._seq += 1
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"seq": self._seq, **self.snapshot()}))
        temporary.replace(self.path)

    def _sync_class(self) -> type[redis.Connection]:
        tally = self.redis

        class CountingConnection(redis.Connection):
            def send_command(self, *args: Any, **kwargs: Any) -> None:
                self.__dict__["_pending"] = [_name(args)]
                super().send_command(*args, **kwargs)  # type: ignore[no-untyped-call]

            def pack_commands(self, commands: Iterable[Iterable[Any]]) -> list[bytes]:
                commands = [list(command) for command in commands]
                self.__dict__["_pending"] = [_name(command) for command in commands]
                packed: list[bytes] = super().pack_commands(commands)  # type: ignore[no-untyped-call]
                return packed

            def send_packed_command(self, command: Any, check_health: bool = True) -> None:
                names = self.__dict__.pop("_pending", None) or ["?"]
                tally.call("+".join(names), _size(command))
                super().send_packed_command(command, check_health)  # type: ignore[no-untyped-call]

            def _connect(self) -> socket.socket:
                sock = super()._connect()  # type: ignore[no-untyped-call]
                return _CountingSocket(sock, tally)  # type: ignore[return-value]

        return CountingConnection

    def _async_class(self) -> type[redis.asyncio.Connection]:
        tally = self.redis

        class CountingAsyncConnection(redis.asyncio.Connection):
            def pack_command(self, *args: Any) -> list[bytes]:
                self.__dict__.setdefault("_pending", []).append(_name(args))
                return super().pack_command(*args)

            async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
                names = self.__dict__.pop("_pending", None) or ["?"]
                tally.call("+".join(names), _size(command))
                await super().send_packed_command(command, check_health)

            async def _connect(self) -> None:
                await super()._connect()  # type: ignore[no-untyped-call]
                self._reader = _CountingReader(self._reader, tally)  # type: ignore[assignment]

        return CountingAsyncConnection
