"""`SeenUpdates`: remembers recent Telegram update ids, so a redelivered update is answered once."""

from __future__ import annotations

from collections import OrderedDict


class SeenUpdates:
    """The last `capacity` update ids. Telegram redelivers an update when the bot did not
    confirm it (a restart, a slow webhook); its id stays the same."""

    def __init__(self, *, capacity: int = 10_000) -> None:
        if capacity < 1:
            raise ValueError("capacity must be positive")
        self._capacity = capacity
        self._ids: OrderedDict[int, None] = OrderedDict()

    def first_time(self, update_id: int) -> bool:
        """Records `update_id`; returns False when it was already seen."""
        if update_id in self._ids:
            self._ids.move_to_end(update_id)
            return False
        self._ids[update_id] = None
        if len(self._ids) > self._capacity:
            self._ids.popitem(last=False)
        return True
