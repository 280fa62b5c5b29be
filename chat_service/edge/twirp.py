"""The Twirp edge: a pure-ASGI Twirp v7 server that follows the reference Go server's wire rules.

It replaces the request handling of the `twirp` package's ASGI app (which deviates on
routing, content types, JSON field names, default values and error bodies) while serving
the same generated `*_twirp.py` service objects. Handlers are synchronous and run in a
bounded thread pool, so they never block the event loop.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.to_thread
import orjson
from google.protobuf import json_format
from google.protobuf.message import Message as ProtoMessage
from starlette.types import Receive, Scope, Send
from twirp import ctxkeys
from twirp.context import Context
from twirp.exceptions import TwirpServerException

from chat_service.edge.json_requests import MalformedJson, parse_json_request
from twirp_wire.codes import STATUS_BY_CODE

logger = logging.getLogger(__name__)

JSON = "application/json"
PROTOBUF = "application/protobuf"


@dataclass(frozen=True)
class TwirpError(Exception):
    """An error to send as a Twirp error body; `code` must be one of STATUS_BY_CODE."""

    code: str
    msg: str
    meta: dict[str, str] = field(default_factory=dict)

    @property
    def status(self) -> int:
        return STATUS_BY_CODE[self.code]

    def body(self) -> bytes:
        """Returns the JSON error body: code, msg and (only when not empty) meta."""
        out: dict[str, Any] = {"code": self.code, "msg": self.msg}
        if self.meta:
            out["meta"] = {str(k): str(v) for k, v in self.meta.items()}
        return orjson.dumps(out)


INTERNAL = TwirpError("internal", "internal error")

ErrorTranslator = Callable[[Exception], TwirpError | None]


def twirp_error_response(error: TwirpError) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Returns status, headers and body of `error` as Twirp sends it (always JSON)."""
    body = error.body()
    headers = [(b"content-type", JSON.encode()), (b"content-length", str(len(body)).encode())]
    return error.status, headers, body


class TwirpEdge:
    """ASGI app serving Twirp services at `<prefix>/<package>.<Service>/<Method>`.

    `translate_error` turns the application's own exceptions into TwirpErrors; anything
    it leaves (returns None for) becomes `internal`, logged here with its traceback.
    """

    def __init__(
        self,
        *,
        max_body_bytes: int,
        limiter: anyio.CapacityLimiter,
        translate_error: ErrorTranslator = lambda exc: None,
    ) -> None:
        self._routes: dict[str, Any] = {}
        self._max_body_bytes = max_body_bytes
        self._limiter = limiter
        self._translate_error = translate_error

    def paths(self) -> frozenset[str]:
        """Returns the path of every routed method (`<prefix>/<package>.<Service>/<Method>`)."""
        return frozenset(self._routes)

    def add_service(self, server: Any) -> None:
        """Routes every method of a generated `<Service>Server` (its prefix included)."""
        for name, endpoint in server._endpoints.items():
            self._routes[f"{server.prefix}/{name}"] = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            status, content_type, body = await self._handle(scope, receive)
            headers = [
                (b"content-type", content_type.encode()),
                (b"content-length", str(len(body)).encode()),
            ]
        except TwirpError as error:
            scope.setdefault("state", {})["twirp_error"] = error.code
            status, headers, body = twirp_error_response(error)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _handle(self, scope: Scope, receive: Receive) -> tuple[int, str, bytes]:
        path: str = scope["path"]
        method: str = scope["method"]
        if method != "POST":
            raise TwirpError(
                "bad_route",
                f'unsupported method "{method}" (only POST is allowed)',
                {"twirp_invalid_route": f"{method} {path}"},
            )
        endpoint = self._routes.get(path)
        if endpoint is None:
            raise TwirpError(
                "bad_route",
                f'no handler for path "{path}"',
                {"twirp_invalid_route": f"POST {path}"},
            )
        # Set before anything else can fail, so metrics and logs name the method.
        state = scope.setdefault("state", {})
        state["twirp_service"] = path.rsplit("/", 2)[-2]  # "<package>.<Service>"
        state["twirp_method"] = endpoint.name
        headers = request_headers(scope)
        content_type = checked_content_type(headers, path)
        body = await read_body(headers, receive, self._max_body_bytes)
        request = decode_message(body, content_type, endpoint.input)
        ctx = _context(scope, headers, endpoint)
        try:
            response = await anyio.to_thread.run_sync(
                endpoint.function, ctx, request, limiter=self._limiter
            )
        except TwirpError as error:
            raise _checked(error) from None
        except TwirpServerException as exc:
            raise _checked(TwirpError(exc.code.value, exc.message, dict(exc.meta))) from None
        except Exception as exc:
            translated = self._translate_error(exc)
            if translated is None:
                logger.exception("unhandled error in %s", endpoint.name)
                raise INTERNAL from None
            raise _checked(translated) from None
        if not isinstance(response, endpoint.output):
            logger.error("%s returned %s", endpoint.name, type(response).__name__)
            raise INTERNAL
        return 200, content_type, _encode(response, content_type)


async def read_body(headers: dict[str, str], receive: Receive, limit: int) -> bytes:
    """Returns the request body; raises TwirpError past `limit` bytes (without reading on) or
    when the client disconnects."""
    too_large = TwirpError(
        "invalid_argument",
        f"request body is larger than the limit of {limit} bytes",
        {"max_bytes": str(limit)},
    )
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise TwirpError("canceled", "the client closed the connection")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)


def checked_content_type(headers: dict[str, str], path: str) -> str:
    """Returns the request's content type (JSON or PROTOBUF); raises TwirpError bad_route
    for any other."""
    raw_type = headers.get("content-type", "")
    content_type = raw_type.split(";", 1)[0].strip().lower()
    if content_type not in (JSON, PROTOBUF):
        raise TwirpError(
            "bad_route",
            f"unexpected Content-Type: {_quote(raw_type)}",
            {"twirp_invalid_route": f"POST {path}"},
        )
    return content_type


def _checked(error: TwirpError) -> TwirpError:
    if error.code not in STATUS_BY_CODE:
        logger.error("handler raised a Twirp error with the invalid code %r", error.code)
        return INTERNAL
    return error


def request_headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _context(scope: Scope, headers: dict[str, str], endpoint: Any) -> Context:
    ctx = Context(headers=headers)
    ctx.set(ctxkeys.RAW_REQUEST_PATH, scope["path"])
    ctx.set(ctxkeys.RAW_HEADERS, headers)
    ctx.set(ctxkeys.SERVICE_NAME, endpoint.service_name)
    ctx.set(ctxkeys.METHOD_NAME, endpoint.name)
    for key, value in scope.get("state", {}).items():
        ctx.set(key, value)
    return ctx


def decode_message(
    body: bytes, content_type: str, message_type: type[ProtoMessage]
) -> ProtoMessage:
    """Returns the request message of a JSON or protobuf body; raises TwirpError malformed."""
    message = message_type()
    if content_type == PROTOBUF:
        try:
            message.ParseFromString(body)
        except Exception:
            raise TwirpError("malformed", "the protobuf request could not be decoded") from None
        return message
    try:
        parse_json_request(body, message)
    except MalformedJson:
        raise TwirpError("malformed", "the json request could not be decoded") from None
    return message


def _encode(message: ProtoMessage, content_type: str) -> bytes:
    if content_type == PROTOBUF:
        return message.SerializeToString()
    as_dict = json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    return orjson.dumps(as_dict)
