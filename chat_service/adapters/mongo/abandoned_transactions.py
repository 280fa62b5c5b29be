"""AbandonedTransactions: aborts, as soon as MongoDB answers again, the transactions that the
service gave up on while it did not answer."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

import pymongo
from pymongo.client_session import ClientSession
from pymongo.collection import Collection
from pymongo.errors import ConnectionFailure, PyMongoError

logger = logging.getLogger(__name__)


def unreachable(exc: PyMongoError) -> bool:
    """Returns whether `exc` means the server did not answer: a connection failure, or a
    server selection or operation timeout."""
    return isinstance(exc, ConnectionFailure) or exc.timeout


class AbandonedTransactions:
    """Sessions whose last transaction was given up without an answer from the server, kept
    until a newer transaction on the same session has aborted it.

    A client that gives up on a transaction (timeout, lost connection) cannot tell what the
    server did: statements sent before a stall can even be executed after it, once the client
    has stopped listening. The transaction then stays in progress, holding its document locks,
    until the server's `transactionLifetimeLimitSeconds` (60 s by default) runs out, and every
    other transaction that writes one of those documents fails with WriteConflict meanwhile.
    A new transaction number on the same session aborts it at once, and any statement of it
    still on its way fails with TransactionTooOld: MongoDB (TransactionParticipant) and
    secantusd (TransactionRegistry) both behave so. A background thread, started by the first
    `adopt`, starts that newer transaction (one read from `probe`, then abort) on each adopted
    session, every `retry_interval_s` while the server still does not answer.

    On a sharded cluster the newer transaction number reaches only the shards its reads touch,
    so there is one read per collection the service's transactions write (`probes`), each
    without its shard key: mongos sends it to every shard that holds a chunk of it, and the
    abort then goes to all of them, whichever held the abandoned transaction's documents.

    Only this process's sessions are covered: a transaction left by a process that died is
    aborted by the server's lifetime limit alone (docs/operations.md).
    """

    def __init__(
        self,
        probes: Sequence[Collection[Any]],
        *,
        retry_interval_s: float = 0.25,
        attempt_timeout_s: float = 1.0,
        max_sessions: int = 256,
    ) -> None:
        if not probes:
            raise ValueError("AbandonedTransactions needs at least one collection to read")
        self._probes = tuple(probes)
        self._retry_interval_s = retry_interval_s
        self._attempt_timeout_s = attempt_timeout_s
        self._max_sessions = max_sessions
        self._pending: list[ClientSession] = []
        self._changed = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None

    def adopt(self, session: ClientSession) -> None:
        """Takes over `session` (not in a transaction; the caller no longer uses it). Beyond
        `max_sessions`, the oldest is ended unaborted: the lifetime limit is its backstop."""
        with self._changed:
            if self._closed:
                dropped = [session]
            else:
                self._pending.append(session)
                excess = max(0, len(self._pending) - self._max_sessions)
                dropped, self._pending = self._pending[:excess], self._pending[excess:]
                self._start_thread()
                self._changed.notify_all()
        if dropped and not self._closed:
            logger.warning(
                "too many abandoned MongoDB transactions; ending the oldest unaborted",
                extra={"dropped": len(dropped)},
            )
        for old in dropped:
            old.end_session()

    def pending(self) -> int:
        """Returns how many sessions still wait for their transaction to be aborted."""
        with self._changed:
            return len(self._pending)

    def close(self) -> None:
        """Stops the thread and ends the sessions still held, without aborting them."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(self._attempt_timeout_s + 1.0)
        with self._changed:
            left, self._pending = self._pending, []
        for session in left:
            session.end_session()

    def _start_thread(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="mongo-abandoned-transactions", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._pending and not self._closed:
                    self._changed.wait()
                if self._closed:
                    return
                pending = list(self._pending)
            aborted = self._abort_each(pending)
            if aborted:
                logger.info(
                    "aborted transactions abandoned while MongoDB did not answer",
                    extra={"count": aborted},
                )
            with self._changed:
                if self._pending and not self._closed:
                    self._changed.wait(self._retry_interval_s)

    def _abort_each(self, sessions: list[ClientSession]) -> int:
        """Supersedes each session's transaction until the server stops answering; returns
        how many were superseded."""
        done = 0
        for session in sessions:
            try:
                self._supersede(session)
            except PyMongoError as exc:
                if unreachable(exc):
                    break  # still away: the next pass tries again
                # The server answered, so it has seen the newer transaction number.
                logger.warning("aborting an abandoned transaction failed", exc_info=True)
            done += 1
            with self._changed:
                if session in self._pending:
                    self._pending.remove(session)
            session.end_session()
        return done

    def _supersede(self, session: ClientSession) -> None:
        # The read is the statement that carries the new transaction number to the server;
        # abort_transaction ignores errors, as the transactions spec asks.
        with pymongo.timeout(self._attempt_timeout_s):
            session.start_transaction()
            try:
                for probe in self._probes:
                    probe.find_one({"_id": None}, projection={"_id": True}, session=session)
            finally:
                session.abort_transaction()
