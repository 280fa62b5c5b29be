"""`StreamedTurn`: prints a streamed turn as its events arrive, and stops it on Ctrl-C."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TextIO

from chat_cli.progress import Progress
from chat_client import (
    ChatClient,
    ChatClientError,
    SessionMetadata,
    TextDelta,
    TitleReady,
    ToolCallFinished,
    ToolCallStarted,
    TurnCancelled,
    TurnCompleted,
    TurnFailed,
    TurnStarted,
    TurnStream,
)

CANCELLED_STATUS = 130  # what a shell reports for a command stopped by Ctrl-C (128 + SIGINT)


@dataclass
class Outcome:
    """How a turn ended: its conversation, whether it failed (already reported on `err`),
    and whether Ctrl-C stopped it."""

    conversation_id: str | None
    failed: bool = False
    cancelled: bool = False


class StreamedTurn:
    """Runs one turn over the stream endpoint: text is printed to `out` as it arrives
    ("assistant: " first, after a "Conversation <id>: <title>" header for a new one), tool
    calls are noted on `err`. With `as_json`, one JSON line is printed when the turn ends.
    Ctrl-C stops the turn on the service (CancelTurn: the text so far is kept). A new
    conversation runs on `model` with `instructions` (as in Ask)."""

    def __init__(
        self,
        client: ChatClient,
        *,
        out: TextIO,
        err: TextIO,
        session: SessionMetadata,
        as_json: bool,
        show_progress: bool,
        model: str = "",
        instructions: str = "",
    ) -> None:
        self._client = client
        self._model = model
        self._instructions = instructions
        self._out = out
        self._err = err
        self._session = session
        self._as_json = as_json
        self._show_progress = show_progress

    def run(self, conversation_id: str | None, message: str) -> Outcome:
        """Runs the turn; raises the SDK's errors for refusals before it starts."""
        progress = Progress(self._err, enabled=self._show_progress)
        stream: TurnStream | None = None
        printer = _Printer(self._out, self._err, as_json=self._as_json, before_output=progress)
        with progress:
            try:
                if conversation_id is None:
                    stream = self._client.stream_conversation(
                        message,
                        session=self._session,
                        model=self._model,
                        instructions=self._instructions,
                    )
                else:
                    stream = self._client.stream_continue(
                        conversation_id, message, session=self._session
                    )
                with stream:
                    for event in stream:
                        printer.show(event)
            except KeyboardInterrupt:
                progress.stop()
                self._cancel(stream, conversation_id, printer)
                return Outcome(printer.conversation_id or conversation_id, cancelled=True)
        return Outcome(printer.conversation_id or conversation_id, failed=printer.failed)

    def _cancel(
        self, stream: TurnStream | None, conversation_id: str | None, printer: _Printer
    ) -> None:
        try:
            if stream is not None and stream.turn_id:
                stopped = self._client.cancel_turn(stream.turn_id)
                # The turn ends with its `cancelled` event once the stop is stored: read up to
                # it, so what the terminal shows is what the conversation keeps.
                with self._client.stream_turn(stopped.turn_id, after=stream.last_seq) as rest:
                    for event in rest:
                        printer.show(event)
            elif conversation_id is not None:
                self._client.cancel_turn(conversation_id=conversation_id)
        except ChatClientError as exc:
            printer.end_line()
            print(f"chat: could not stop the turn: {exc}", file=self._err, flush=True)
            return
        except KeyboardInterrupt:
            pass  # a second Ctrl-C: stop waiting
        printer.end_line()
        if printer.completed:
            return  # it ended before the stop came: shown whole
        if self._as_json:
            printer.json_line(cancelled=True)
        print("chat: cancelled (the reply so far is kept)", file=self._err, flush=True)


class _Printer:
    def __init__(self, out: TextIO, err: TextIO, *, as_json: bool, before_output: Progress):
        self._out = out
        self._err = err
        self._as_json = as_json
        self._before_output = before_output
        self.conversation_id: str | None = None
        self._new = False
        self._title = ""
        self._text: list[str] = []
        self._in_text = False
        self.failed = False
        self.completed = False

    def show(self, event: object) -> None:
        match event:
            case TurnStarted():
                self.conversation_id, self._new = event.conversation_id, event.new_conversation
                self._title = event.title
            case TitleReady():
                self._title = event.title
            case TextDelta():
                self._text.append(event.text)
                if not self._as_json:
                    self._begin_text()
                    self._write(event.text)
            case ToolCallStarted() if not self._as_json:
                self._note(f"↳ tool {event.name}({event.arguments})")
            case ToolCallFinished() if not self._as_json and not event.ok:
                self._note(f"↳ tool {event.name} failed: {event.error}")
            case TurnCompleted():
                self.completed = True
                self._title = event.title or self._title
                streamed = bool(self._text)
                self._text = [event.reply]
                if self._as_json:
                    self.json_line()
                    return
                self._begin_text()
                if not streamed:  # e.g. an answer replayed whole
                    self._write(event.reply)
                self.end_line()
            case TurnCancelled():
                self.end_line()
            case TurnFailed():
                self.end_line()
                self.failed = True
                print(f"chat: {event.error}", file=self._err, flush=True)

    def json_line(self, *, cancelled: bool = False) -> None:
        body: dict[str, object] = {"conversation_id": self.conversation_id or ""}
        if self._new:
            body["title"] = self._title
        body["reply"] = "".join(self._text)
        if cancelled:
            body["cancelled"] = True
        print(json.dumps(body, ensure_ascii=False), file=self._out, flush=True)

    def end_line(self) -> None:
        if self._in_text:
            self._write("\n")
            self._in_text = False

    def _begin_text(self) -> None:
        if self._in_text:
            return
        self._before_output.stop()
        if self._new and self.conversation_id:
            header = f"Conversation {self.conversation_id}"
            self._write(f"{header}: {self._title}\n" if self._title else f"{header}\n")
            self._new = False
        self._write("assistant: ")
        self._in_text = True

    def _note(self, text: str) -> None:
        self._before_output.stop()
        self.end_line()
        print(f"  {text}", file=self._err, flush=True)

    def _write(self, text: str) -> None:
        self._out.write(text)
        self._out.flush()
