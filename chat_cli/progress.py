"""`Progress`: a spinner on the terminal while the assistant thinks."""

from __future__ import annotations

import itertools
import threading
from types import TracebackType
from typing import TextIO

FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
_CLEAR_LINE = "\r\x1b[2K"


class Progress:
    """While the `with` block runs, redraws "<frame> <label>" on `stream` every `interval_s`,
    then erases it. Does nothing unless `enabled` (the CLI enables it when stderr is a
    terminal, so pipes and logs get no control characters)."""

    def __init__(
        self, stream: TextIO, *, enabled: bool, label: str = "thinking…", interval_s: float = 0.1
    ) -> None:
        self._stream = stream
        self._enabled = enabled
        self._label = label
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Progress:
        if self._enabled:
            self._thread = threading.Thread(target=self._spin, name="progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        """Erases the spinner now (before the block ends); later calls do nothing."""
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join()
        self._thread = None
        self._stream.write(_CLEAR_LINE)
        self._stream.flush()

    def _spin(self) -> None:
        for frame in itertools.cycle(FRAMES):
            self._stream.write(f"{_CLEAR_LINE}{frame} {self._label}")
            self._stream.flush()
            if self._stop.wait(self._interval_s):
                return
