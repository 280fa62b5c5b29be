"""HistoryCache: the latest messages of the conversations this process read or wrote lately,
so that a conversation's next turn here reads its header and not its messages again.

Every change to a conversation's messages commits in the transaction that raises its
header's `message_count` (an append, and with it the deactivation of the turn it replaces),
and deleting a conversation deletes its header: at a given count, a conversation's messages
are always the same. An entry holds the messages for exactly one count; a header read at
another count (a turn in another process, a failed write whose outcome is unknown) misses,
and the turn reads its messages from the database as it would without the cache.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Sequence

from chat_service.core.models import Message


class HistoryCache:
    """At most `conversations` conversations, each with its last `messages` messages at one
    message count, holding at most `max_chars` characters of message text in all (0: none,
    every turn reads its messages); the least recently used conversations go first."""

    def __init__(
        self, *, conversations: int = 1024, messages: int = 64, max_chars: int = 4_000_000
    ) -> None:
        self._conversations = conversations
        self._messages = messages
        self._max_chars = max_chars
        self._chars = 0
        self._lock = threading.Lock()
        # conversation id -> (message count, seq of the first message held, the messages)
        self._entries: collections.OrderedDict[str, tuple[int, int, tuple[Message, ...]]] = (
            collections.OrderedDict()
        )

    def get(self, conversation_id: str, *, count: int, first_seq: int) -> list[Message] | None:
        """Returns the messages with seq `first_seq` to `count` - 1 of the conversation at
        `count` messages, or None when they are not all held for that count."""
        with self._lock:
            entry = self._entries.get(conversation_id)
            if entry is None:
                return None
            held_count, held_first, messages = entry
            if held_count != count or first_seq < held_first:
                return None
            self._entries.move_to_end(conversation_id)
        return list(messages[first_seq - held_first :])

    def put(
        self, conversation_id: str, *, count: int, first_seq: int, messages: Sequence[Message]
    ) -> None:
        """Holds `messages` (seq `first_seq` to `count` - 1) as the conversation's at `count`."""
        if len(messages) != count - first_seq or self._max_chars <= 0:
            return  # not a whole range (or no room at all): nothing to hold
        kept = tuple(messages[-self._messages :]) if self._messages else ()
        with self._lock:
            self._drop(conversation_id)
            self._entries[conversation_id] = (count, count - len(kept), kept)
            self._chars += _chars(kept)
            while self._entries and (
                len(self._entries) > self._conversations or self._chars > self._max_chars
            ):
                self._drop(next(iter(self._entries)))

    def appended(self, conversation_id: str, *, before: int, added: Sequence[Message]) -> None:
        """Records that `added` (seq `before` on) were appended to the conversation at
        `before` messages; an entry for another count is dropped."""
        with self._lock:
            entry = self._drop(conversation_id)
        if entry is None or entry[0] != before:
            return
        _, first_seq, messages = entry
        self.put(
            conversation_id,
            count=before + len(added),
            first_seq=first_seq,
            messages=(*messages, *added),
        )

    def forget(self, conversation_id: str) -> None:
        """Drops the conversation's entry (its messages changed in a way not recorded here)."""
        with self._lock:
            self._drop(conversation_id)

    def _drop(self, conversation_id: str) -> tuple[int, int, tuple[Message, ...]] | None:
        """Removes an entry (call holding the lock); returns it."""
        entry = self._entries.pop(conversation_id, None)
        if entry is not None:
            self._chars -= _chars(entry[2])
        return entry


def _chars(messages: Sequence[Message]) -> int:
    return sum(len(m.content) for m in messages)
