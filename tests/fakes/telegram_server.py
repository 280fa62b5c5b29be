"""A local HTTP server speaking the Telegram Bot API, for testing a bot without the network.

Point python-telegram-bot at it with `base_url=f"{server.url}/bot"`. It answers getMe,
getUpdates (long polling over a queue of scripted updates: each is delivered once, so
queueing an update again simulates Telegram redelivering it), sendMessage, editMessageText
(refusing an edit that changes nothing, as Telegram does), sendChatAction, setMyCommands and
deleteWebhook, and records every call with the time it came.
"""

from __future__ import annotations

import itertools
import json
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

BOT_USER = {"id": 4242, "is_bot": True, "first_name": "Chat", "username": "chat_test_bot"}
_LONG_POLL_CAP_S = 0.5  # the fake answers an empty getUpdates after at most this long


@dataclass(frozen=True)
class ApiCall:
    method: str
    params: dict[str, Any]
    at: float = 0.0  # time.monotonic() when it came


class FakeTelegramServer:
    """The Bot API for one token on 127.0.0.1."""

    def __init__(self, *, token: str = "123456:TEST-TOKEN") -> None:
        self.token = token
        self._updates: deque[dict[str, Any]] = deque()
        self._calls: list[ApiCall] = []
        self._changed = threading.Condition()
        self._message_ids = itertools.count(1)
        self._update_ids = itertools.count(1000)
        self._texts: dict[int, tuple[int, str]] = {}  # message id -> (chat id, current text)
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.fake = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FakeTelegramServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    # --- scripting -------------------------------------------------------------------

    def text_update(
        self, chat_id: int, text: str, *, user_id: int | None = None, update_id: int | None = None
    ) -> dict[str, Any]:
        """Returns an update carrying a private-chat text message (a command if it starts
        with "/")."""
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "Ann"},
            "from": {"id": user_id or chat_id, "is_bot": False, "first_name": "Ann"},
            "text": text,
        }
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return {"update_id": update_id or next(self._update_ids), "message": message}

    def deliver(self, *updates: dict[str, Any]) -> None:
        """Queues updates for the bot's next getUpdates."""
        with self._changed:
            self._updates.extend(updates)
            self._changed.notify_all()

    # --- inspection ------------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[ApiCall]:
        with self._changed:
            return [c for c in self._calls if method is None or c.method == method]

    def sent_texts(self, chat_id: int) -> list[str]:
        return [
            str(c.params["text"])
            for c in self.calls("sendMessage")
            if int(c.params["chat_id"]) == chat_id
        ]

    def wait_for_texts(self, chat_id: int, count: int, *, timeout_s: float = 20.0) -> list[str]:
        """Waits until the bot has sent `count` messages to `chat_id`; returns them."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while len(texts := self._texts_locked(chat_id)) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"chat {chat_id} got {texts}, expected {count} messages")
                self._changed.wait(remaining)
            return texts

    def message_texts(self, chat_id: int) -> list[str]:
        """Returns the current text of each message the bot sent to `chat_id`, in order
        (edits applied)."""
        with self._changed:
            return [text for chat, text in self._texts.values() if chat == chat_id]

    def wait_for_message_texts(
        self, chat_id: int, expected: list[str], *, timeout_s: float = 20.0
    ) -> None:
        """Waits until the bot's messages to `chat_id` read `expected` (edits applied)."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while [t for c, t in self._texts.values() if c == chat_id] != expected:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    current = [t for c, t in self._texts.values() if c == chat_id]
                    raise AssertionError(f"chat {chat_id} shows {current}, expected {expected}")
                self._changed.wait(remaining)

    def _texts_locked(self, chat_id: int) -> list[str]:
        return [
            str(c.params["text"])
            for c in self._calls
            if c.method == "sendMessage" and int(c.params["chat_id"]) == chat_id
        ]

    # --- the API ---------------------------------------------------------------------

    def handle(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if method != "getUpdates":
            with self._changed:
                self._calls.append(ApiCall(method, params, time.monotonic()))
                if method == "editMessageText":
                    return self._edit_locked(params)
                self._changed.notify_all()
        if method == "getMe":
            return 200, {"ok": True, "result": BOT_USER}
        if method in ("deleteWebhook", "setMyCommands", "sendChatAction"):
            return 200, {"ok": True, "result": True}
        if method == "getUpdates":
            return 200, {"ok": True, "result": self._next_updates(float(params.get("timeout", 0)))}
        if method == "sendMessage":
            chat_id = int(params["chat_id"])
            message = {
                "message_id": next(self._message_ids),
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                "from": BOT_USER,
                "text": params["text"],
            }
            with self._changed:
                self._texts[message["message_id"]] = (chat_id, str(params["text"]))
                self._changed.notify_all()
            return 200, {"ok": True, "result": message}
        return 404, {"ok": False, "error_code": 404, "description": "Not Found: method not found"}

    def _edit_locked(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        message_id, chat_id = int(params["message_id"]), int(params["chat_id"])
        known = self._texts.get(message_id)
        if known is None or known[0] != chat_id:
            return 400, _bad_request("message to edit not found")
        if known[1] == params["text"]:
            return 400, _bad_request(
                "message is not modified: specified new message content and reply markup "
                "are exactly the same as a current content and reply markup of the message"
            )
        self._texts[message_id] = (chat_id, str(params["text"]))
        self._changed.notify_all()
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "edit_date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": BOT_USER,
            "text": params["text"],
        }
        return 200, {"ok": True, "result": message}

    def _next_updates(self, timeout_s: float) -> list[dict[str, Any]]:
        with self._changed:
            if not self._updates:
                self._changed.wait(min(timeout_s, _LONG_POLL_CAP_S))
            delivered = list(self._updates)
            self._updates.clear()
            return delivered


def _bad_request(description: str) -> dict[str, Any]:
    return {"ok": False, "error_code": 400, "description": f"Bad Request: {description}"}


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A bot that stops polling hangs up mid-request; that is not a fault of the test.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Any

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        fake: FakeTelegramServer = self.server.fake
        prefix = f"/bot{fake.token}/"
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not self.path.startswith(prefix):
            status, body = 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        else:
            status, body = fake.handle(self.path[len(prefix) :], _params(self.headers, raw))
        encoded = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(encoded)))
        try:
            self.end_headers()
            self.wfile.write(encoded)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the bot stopped polling and hung up

    do_GET = do_POST


def _params(headers: Any, raw: bytes) -> dict[str, Any]:
    content_type = headers.get("Content-Type", "")
    if content_type.startswith("application/json"):
        parsed = json.loads(raw or b"{}")
        return parsed if isinstance(parsed, dict) else {}
    return dict(parse_qsl(raw.decode(), keep_blank_values=True))
