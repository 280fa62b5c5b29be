"""Bounded MongoDB transactions, per-key locks, and the translation of unreachable-server errors."""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import pymongo
from pymongo import MongoClient
from pymongo.client_session import ClientSession
from pymongo.errors import ConnectionFailure, OperationFailure, PyMongoError
from pymongo.write_concern import WriteConcern

from chat_service.adapters.mongo.abandoned_transactions import AbandonedTransactions, unreachable
from chat_service.core.errors import StorageUnavailable, WriteConflict

_T = TypeVar("_T")
_MAJORITY = WriteConcern("majority")
_WRITE_CONFLICT = 112


@contextmanager
def storage_errors() -> Iterator[None]:
    """Raises StorageUnavailable (from the cause) for pymongo errors that mean the server is
    out of reach or too slow: connection failures, server selection and operation timeouts.
    Other pymongo errors propagate unchanged."""
    try:
        yield
    except PyMongoError as exc:
        if unreachable(exc):
            raise StorageUnavailable("MongoDB is unavailable") from exc
        raise


def run_transaction(
    client: MongoClient[Any],
    callback: Callable[[ClientSession], _T],
    *,
    deadline: float,
    abandoned: AbandonedTransactions,
) -> _T:
    """Runs `callback` in a transaction, retrying write conflicts until `deadline` (monotonic).

    Returns what `callback` returns; exceptions it raises abort the transaction and propagate.
    Raises WriteConflict when the deadline passes while other transactions still hold the
    documents, StorageUnavailable when the server is out of reach or the deadline passes
    otherwise. A transaction given up on a timeout or a lost connection goes to `abandoned`,
    which aborts it on the server once the server answers again.
    """
    # pymongo.timeout bounds with_transaction's retries, which otherwise go on for 120 s
    # (a down server raises errors labelled TransientTransactionError, which it retries).
    remaining_s = deadline - time.monotonic()
    if remaining_s <= 0:
        raise StorageUnavailable("MongoDB transaction timed out")
    conflicts: list[OperationFailure] = []

    def attempt(session: ClientSession) -> _T:
        try:
            return callback(session)
        except OperationFailure as exc:
            if exc.code == _WRITE_CONFLICT:
                conflicts.append(exc)
            raise

    session = client.start_session()
    try:
        with pymongo.timeout(remaining_s):
            result = session.with_transaction(attempt, write_concern=_MAJORITY)
    except PyMongoError as exc:
        if not unreachable(exc):
            session.end_session()
            raise
        # Its last statement may still be on the server's side of a stall; when it is not,
        # aborting an aborted transaction costs one read.
        abandoned.adopt(session)
        if conflicts and not _lost_connection(exc):
            raise WriteConflict() from exc
        raise StorageUnavailable("MongoDB is unavailable") from exc
    except BaseException:
        session.end_session()
        raise
    session.end_session()
    return result


def _lost_connection(exc: PyMongoError) -> bool:
    # with_transaction gives up with a timeout error raised from the last attempt's error.
    return isinstance(exc, ConnectionFailure) or isinstance(exc.__cause__, ConnectionFailure)


class KeyedLocks:
    """One lock per key, created on demand and dropped once no thread holds or awaits it."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[str, threading.Lock] = (
            weakref.WeakValueDictionary()
        )
        self._guard = threading.Lock()

    @contextmanager
    def hold(self, key: str, *, deadline: float) -> Iterator[None]:
        """Holds the lock of `key`; raises StorageUnavailable if not acquired by `deadline`."""
        with self._guard:
            lock = self._locks.get(key)
            if lock is None:
                lock = threading.Lock()
                self._locks[key] = lock
        if not lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise StorageUnavailable("MongoDB transaction timed out")
        try:
            yield
        finally:
            lock.release()
