"""`TurnProgress`: the I/O-free half of reading a streamed turn, shared by both clients.

It parses each connection's bytes into events, drops those already seen (a resumed stream
repeats nothing the caller got, even if a server sent it twice), remembers the last `seq`
for `Last-Event-ID`, notices the terminal event, and counts the reattach attempts made
since the stream last moved, with their backoff.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from chat_client.errors import ChatClientError, ConnectionFailed, TwirpError, Unavailable
from chat_client.retry import RetryPolicy
from chat_client.sse import SseParser
from chat_client.turn_events import TurnEvent, event_from

# Reattaching after a dropped stream: a few quick tries, then up to 4 s apart.
DEFAULT_REATTACH = RetryPolicy(retries=5, backoff_base_s=0.2, backoff_max_s=4.0)


class StreamBroken(ConnectionFailed):
    """The turn's stream broke and could not be resumed within the reattach attempts. The
    turn may still run on the server: `turn_id` and `last_seq` resume it later."""

    def __init__(self, message: str, *, turn_id: str, last_seq: int) -> None:
        super().__init__(message, before_send=False)
        self.turn_id = turn_id
        self.last_seq = last_seq


class TurnProgress:
    """How far the caller got in one turn, across the connections that carried it."""

    def __init__(
        self,
        turn_id: str,
        *,
        after: int = 0,
        reattach: RetryPolicy = DEFAULT_REATTACH,
        jitter: Callable[[float, float], float] = random.uniform,
    ) -> None:
        self.turn_id = turn_id
        self.last_seq = after
        self.ended = False
        self._parser = SseParser()
        self._policy = reattach
        self._jitter = jitter
        self._failures = 0

    def connected(self) -> None:
        """Starts reading a new connection (its bytes are a stream of their own)."""
        self._parser = SseParser()

    def feed(self, chunk: bytes) -> list[TurnEvent]:
        """Returns the events of `chunk` the caller has not seen, up to the terminal one."""
        events: list[TurnEvent] = []
        for message in self._parser.feed(chunk):
            if self.ended:
                break
            event = event_from(message)
            seq = event.seq if event is not None else _seq(message.id)
            if seq <= self.last_seq:
                continue  # a repeat after a resume
            self.last_seq = seq
            self._failures = 0  # the stream moves again
            if event is None:
                continue  # a kind this SDK does not know
            if not self.turn_id:
                self.turn_id = event.turn_id
            self.ended = event.terminal
            events.append(event)
        return events

    def retry_delay_s(self, error: ChatClientError) -> float:
        """Returns how long to wait before reattaching after `error`, or raises (the error
        itself if it is final, else `StreamBroken`) when no attempt is left."""
        if isinstance(error, TwirpError) and not isinstance(error, Unavailable):
            raise error  # e.g. not_found: the turn is unknown (or long gone)
        if not self.turn_id:
            raise error  # nothing to resume: the server named no turn
        if self._failures >= self._policy.retries:
            raise StreamBroken(
                f"the stream of turn {self.turn_id} broke after event {self.last_seq} and "
                f"could not be resumed in {self._failures} attempts: {error}",
                turn_id=self.turn_id,
                last_seq=self.last_seq,
            ) from error
        cap = min(self._policy.backoff_max_s, self._policy.backoff_base_s * 2**self._failures)
        self._failures += 1
        return self._jitter(0.0, cap)


def _seq(event_id: str) -> int:
    return int(event_id) if event_id.isascii() and event_id.isdigit() else 0


def ended_early(turn_id: str) -> ConnectionFailed:
    """The error of a stream that closed before its terminal event."""
    return ConnectionFailed(
        f"the stream of turn {turn_id} closed before the turn ended", before_send=False
    )
