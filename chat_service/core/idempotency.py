"""Idempotent turns: a repeated idempotency key gets the first result, with one provider call
and one stored pair, whether the repeat comes later or at the same time.

The first request with a key claims a record (owner, method, key); its turn completes the
record with the result in the same transaction that stores the messages (see Receipt), so a
stored turn always has its result recorded, and a claim taken over after a crash can never
commit a second pair. A failed turn releases its claim, so the client may retry.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from chat_service.core.cache.keys import Json, canonical_json
from chat_service.core.errors import InvalidRequest, TurnAborted
from chat_service.ports.idempotency import Claim, ClaimState, IdempotencyStore, TurnOutcome

MAX_KEY_CHARS = 200


class KeyInUse(TurnAborted):
    """A request with the same idempotency key is still running."""

    reason = "idempotency_key_in_use"

    def __init__(self) -> None:
        super().__init__("a request with this idempotency_key is still in progress; retry later")


class Idempotency:
    """Runs a turn at most once per (owner, method, key) within `ttl`."""

    def __init__(
        self,
        store: IdempotencyStore,
        *,
        clock: Callable[[], datetime],
        ttl: timedelta = timedelta(hours=24),
        lease: timedelta = timedelta(minutes=5),
        wait_s: float = 60.0,
        poll_s: float = 0.05,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """`lease` bounds how long a claim may go without completing before another request
        takes it over; `wait_s` how long a repeat waits for the first to finish."""
        self._store = store
        self._clock = clock
        self._ttl = ttl
        self._lease = lease
        self._wait_s = wait_s
        self._poll_s = poll_s
        self._sleep = sleep

    def run(
        self,
        *,
        owner: str,
        method: str,
        key: str,
        request: Json,
        turn: Callable[[Claim | None], TurnOutcome],
    ) -> TurnOutcome:
        """Returns `turn(claim)`'s outcome, or the outcome recorded for an earlier request
        with this key. Without a key, runs the turn. Raises InvalidRequest (key too long, or
        used with a different `request`), KeyInUse (aborted) after waiting `wait_s`."""
        if not key:
            return turn(None)
        if len(key) > MAX_KEY_CHARS:
            raise InvalidRequest(
                "idempotency_key", f"idempotency_key is longer than {MAX_KEY_CHARS}"
            )
        record_id = hashlib.sha256(json.dumps([owner, method, key]).encode()).hexdigest()
        fingerprint = hashlib.sha256(canonical_json(request)).hexdigest()
        deadline = time.monotonic() + self._wait_s
        while True:
            claim = Claim(record_id, secrets.token_hex(12), owner)
            state = self._store.claim(
                claim, fingerprint=fingerprint, now=self._clock(), lease=self._lease, ttl=self._ttl
            )
            if isinstance(state, TurnOutcome):
                return state
            if state is ClaimState.MISMATCH:
                raise InvalidRequest(
                    "idempotency_key", "idempotency_key was already used for another request"
                )
            if state is ClaimState.CLAIMED:
                try:
                    return turn(claim)
                except BaseException:
                    self._store.release(claim)
                    raise
            if time.monotonic() >= deadline:
                raise KeyInUse()
            self._sleep(self._poll_s)
