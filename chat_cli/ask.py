"""`chat ask`: an interactive conversation on the terminal (or over a pipe)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import TextIO

from chat_cli import render
from chat_cli.progress import Progress
from chat_cli.streamed import CANCELLED_STATUS, StreamedTurn
from chat_client import ChatClient, SessionMetadata, TwirpError


class Ask:
    """Reads messages line by line from `lines` until end of input (Ctrl-D) and prints the
    replies: the first message starts a conversation unless `conversation_id` continues one.

    A failed turn is reported on `err` and the loop goes on; `run` returns 1 if any turn
    failed, else 0. With `as_json`, each turn prints one JSON line. With `stream` (the
    default) replies print as they are written and Ctrl-C stops the turn on the service,
    ending the session with status 130; without it each turn is one unary call.
    A new conversation runs on `model` ("" for the server's default) with the standing
    `instructions`.
    """

    def __init__(
        self,
        client: ChatClient,
        *,
        out: TextIO,
        err: TextIO,
        session: SessionMetadata,
        as_json: bool,
        show_progress: bool,
        stream: bool = True,
        model: str = "",
        instructions: str = "",
    ) -> None:
        self._stream = stream
        self._streamed = StreamedTurn(
            client,
            out=out,
            err=err,
            session=session,
            as_json=as_json,
            show_progress=show_progress,
            model=model,
            instructions=instructions,
        )
        self._client = client
        self._out = out
        self._err = err
        self._session = session
        self._as_json = as_json
        self._show_progress = show_progress
        self._model = model
        self._instructions = instructions

    def run(self, lines: Iterator[str], *, conversation_id: str | None) -> int:
        if conversation_id and not self._as_json:
            conversation = self._client.get_conversation(conversation_id)
            self._print(render.conversation_text(conversation) + "\n")
        failed = False
        for line in lines:
            message = line.strip()
            if not message:
                continue
            if self._stream:
                try:
                    outcome = self._streamed.run(conversation_id, message)
                except TwirpError as exc:
                    failed = True
                    print(f"chat: {exc}", file=self._err, flush=True)
                    continue
                if outcome.cancelled:
                    return CANCELLED_STATUS
                conversation_id = outcome.conversation_id
                failed = failed or outcome.failed
                continue
            try:
                # The spinner is erased before anything is printed.
                with Progress(self._err, enabled=self._show_progress):
                    conversation_id, output = self._turn(conversation_id, message)
            except TwirpError as exc:
                failed = True
                print(f"chat: {exc}", file=self._err, flush=True)
                continue
            self._print(output)
        return 1 if failed else 0

    def _turn(self, conversation_id: str | None, message: str) -> tuple[str, str]:
        """Runs one turn; returns the conversation id and the text to print."""
        if conversation_id is None:
            started = self._client.start_conversation(
                message,
                session=self._session,
                model=self._model,
                instructions=self._instructions,
            )
            if self._as_json:
                return started.conversation_id, json.dumps(_fields(started), ensure_ascii=False)
            header = f"Conversation {started.conversation_id}: {started.title}"
            return started.conversation_id, f"{header}\nassistant: {started.reply}"
        reply = self._client.continue_conversation(conversation_id, message, session=self._session)
        if self._as_json:
            body = {"conversation_id": conversation_id, "reply": reply.reply}
            return conversation_id, json.dumps(body, ensure_ascii=False)
        return conversation_id, f"assistant: {reply.reply}"

    def _print(self, text: str) -> None:
        print(text, file=self._out, flush=True)


def prompted_lines(*, prompt: str) -> Iterator[str]:
    """Yields lines typed at the terminal after `prompt` until Ctrl-D."""
    while True:
        try:
            yield input(prompt)
        except EOFError:
            print(file=sys.stderr)
            return


def _fields(started: object) -> dict[str, str]:
    return {name: str(getattr(started, name)) for name in ("conversation_id", "title", "reply")}
