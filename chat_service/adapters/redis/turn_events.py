"""RedisTurnEventLog: the TurnEventLog port over one Redis stream per turn.

Keys share the turn's hash tag, so a turn's commands all go to one Redis Cluster slot:
  acai:turn:{<turn id>}:events  stream, entry id "<seq>-0", field "e" = the encoded event,
                                trimmed to about `max_events` (XADD MAXLEN ~)
  acai:turn:{<turn id>}:owner   the owner's name
  acai:turn:{<turn id>}:stop    set by request_stop
  acai:conversation:{<id>}:turn the conversation's running turn
While the turn runs they live `running_ttl_s` (an hour), renewed every 64 events; after
close, `ended_ttl_s`.
"""

from __future__ import annotations

from typing import Any

from chat_service.adapters.redis.client import REDIS_ERRORS, SyncRedis
from chat_service.core.turn_events import TurnEvent, decode_event, encode_event
from chat_service.ports.turn_events import EventLogUnavailable

# KEYS: conversation's running turn. ARGV: turn id. Unbinds it only if still this turn.
_UNBIND = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


_RENEW_EVERY = 64  # appends between renewals of a running turn's expiry


class RedisTurnEventLog:
    """Turn events in Redis streams; Redis errors become EventLogUnavailable.

    `block_ms` bounds one blocking read (it must stay below the client's socket timeout).
    """

    def __init__(
        self,
        client: SyncRedis,
        *,
        max_events: int = 10_000,
        running_ttl_s: float = 3600.0,
        ended_ttl_s: float = 300.0,
        block_ms: int = 1000,
        prefix: str = "acai:",
    ) -> None:
        self._redis = client
        self._max_events = max_events
        self._running_ms = _ms(running_ttl_s)
        self._ended_ms = _ms(ended_ttl_s)
        self._block_ms = block_ms
        self._prefix = prefix
        self._unbind = client.register_script(_UNBIND)

    def open(self, turn_id: str, *, owner: str) -> None:
        with _errors():
            self._redis.set(self._key(turn_id, "owner"), owner, px=self._running_ms)

    def owner(self, turn_id: str) -> str | None:
        with _errors():
            value = self._redis.get(self._key(turn_id, "owner"))
        return None if value is None else _text(value)

    def append(self, event: TurnEvent) -> bool:
        events = self._key(event.turn_id, "events")
        with _errors():
            pipe = self._redis.pipeline(transaction=False)
            pipe.xadd(
                events,
                {"e": encode_event(event)},
                id=f"{event.seq}-0",
                maxlen=self._max_events,
                approximate=True,
            )
            if event.seq % _RENEW_EVERY == 1:  # the first event, then now and then
                pipe.pexpire(events, self._running_ms)
                pipe.pexpire(self._key(event.turn_id, "owner"), self._running_ms)
            pipe.exists(self._key(event.turn_id, "stop"))
            return bool(pipe.execute()[-1])

    def close(self, turn_id: str, *, conversation_id: str) -> None:
        with _errors():
            pipe = self._redis.pipeline(transaction=False)
            for part in ("events", "owner", "stop"):
                pipe.pexpire(self._key(turn_id, part), self._ended_ms)
            pipe.execute()
            if conversation_id:
                self._unbind(keys=[self._conversation_key(conversation_id)], args=[turn_id])

    def read_after(self, turn_id: str, after: int) -> list[TurnEvent]:
        with _errors():
            entries: Any = self._redis.xrange(self._key(turn_id, "events"), min=f"({after}-0")
        return [decode_event(fields[b"e"]) for _, fields in entries]

    def wait(self, turn_id: str, after: int, *, timeout_s: float) -> list[TurnEvent]:
        key = self._key(turn_id, "events")
        block = max(1, min(self._block_ms, int(timeout_s * 1000)))
        with _errors():
            answer: Any = self._redis.xread({key: f"{after}-0"}, block=block)
        return [decode_event(fields[b"e"]) for _, entries in answer for _, fields in entries]

    def bind_conversation(self, turn_id: str, conversation_id: str) -> None:
        with _errors():
            self._redis.set(self._conversation_key(conversation_id), turn_id, px=self._running_ms)

    def running_turn(self, conversation_id: str) -> str | None:
        with _errors():
            value = self._redis.get(self._conversation_key(conversation_id))
        return None if value is None else _text(value)

    def request_stop(self, turn_id: str) -> None:
        with _errors():
            self._redis.set(self._key(turn_id, "stop"), b"1", px=self._running_ms)

    def _key(self, turn_id: str, part: str) -> str:
        return f"{self._prefix}turn:{{{turn_id}}}:{part}"

    def _conversation_key(self, conversation_id: str) -> str:
        return f"{self._prefix}conversation:{{{conversation_id}}}:turn"


class _errors:
    """Turns redis-py's errors (a cluster's own included) into EventLogUnavailable, keeping
    the cause."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        if isinstance(exc, REDIS_ERRORS):
            raise EventLogUnavailable("redis") from exc


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))
