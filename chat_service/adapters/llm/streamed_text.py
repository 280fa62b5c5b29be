"""StreamedText: tells a wrapper whether a call has already streamed text to its caller."""

from __future__ import annotations

from chat_service.ports.chat_model import TextSink


class StreamedText:
    """Wraps a caller's TextSink and remembers whether a delta went through it.

    Retries and fallbacks use it to keep the port's rule: once the caller has seen text,
    a failure is final (a second attempt would repeat or contradict what was shown).
    """

    def __init__(self, sink: TextSink | None) -> None:
        self._sink = sink
        self.started = False

    @property
    def target(self) -> TextSink | None:
        """The sink to hand to the wrapped model (None when the caller does not stream)."""
        return None if self._sink is None else self._deliver

    def _deliver(self, text: str) -> None:
        if text:
            self.started = True
            assert self._sink is not None
            self._sink(text)
