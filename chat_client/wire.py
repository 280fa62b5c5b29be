"""The Twirp wire format of ChatService calls, shared by the sync and async clients.

Requests are built as the generated protobuf messages (so a misspelt field fails at once)
and sent as protobuf or JSON; answers of either encoding become one dictionary shape (proto
field names, default values included) for `results`, or the call's `TwirpError`. No I/O
happens here: a client only sends a `Call` and hands its answer to `Call.result`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import quote

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import DecodeError
from google.protobuf.message import Message as ProtoMessage
from google.protobuf.message_factory import GetMessageClass

from chat_client.errors import Internal, TwirpError, error_from_response
from chat_client.results import Health, SessionMetadata, Wire, health_from
from gen.acai.chat import chat_pb2 as pb

Encoding = Literal["json", "protobuf"]
SERVICE = "acai.chat.ChatService"
_CONTENT_TYPES: dict[str, str] = {"json": "application/json", "protobuf": "application/protobuf"}
_METHODS = pb.DESCRIPTOR.services_by_name["ChatService"].methods_by_name

# Methods that change nothing: resending them after a broken connection is always safe.
READ_ONLY = frozenset({"ListConversations", "DescribeConversation"})

T = TypeVar("T")
Parse = Callable[[Wire], T]  # turns a decoded answer into a method's result


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """One RPC ready to send: where (`url`, which is the base URL and `path`), with which
    headers and body, whether resending it can never repeat its effect (`resend_safe`), and
    which result its decoded answer makes (`parse`)."""

    method: str
    path: str
    url: str
    headers: Mapping[str, str]
    body: bytes
    encoding: Encoding
    resend_safe: bool
    parse: Parse[T]

    def result(self, status: int, body: bytes, headers: Mapping[str, str]) -> T:
        """Returns the result of the answer (its HTTP status, body and headers), or raises its
        `TwirpError` (with the Retry-After header's delay)."""
        return self.parse(answer(self, status, body, retry_after=headers.get("Retry-After")))


@dataclass(frozen=True, slots=True)
class StreamRequest:
    """One request to a stream endpoint: a turn's POST (the unary call's body, answered as
    text/event-stream) or a resume's GET. `resend_safe` as in `Call`."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes
    resend_safe: bool


def stream_request(call: Call[Any], *, base_url: str) -> StreamRequest:
    """Returns the stream endpoint's request of a turn `call`: same body and headers."""
    return StreamRequest(
        method="POST",
        url=f"{base_url}/stream/{SERVICE}/{call.method}",
        headers={**call.headers, "Accept": "text/event-stream"},
        body=call.body,
        resend_safe=call.resend_safe,
    )


def resume_request(
    turn_id: str, after: int, *, base_url: str, headers: Mapping[str, str]
) -> StreamRequest:
    """Returns the GET of a turn's events after `after` (0: from its start)."""
    extra = {"Last-Event-ID": str(after)} if after else {}
    return StreamRequest(
        method="GET",
        url=f"{base_url}/stream/turns/{quote(turn_id, safe='')}",
        headers={**headers, "Accept": "text/event-stream", **extra},
        body=b"",
        resend_safe=True,
    )


def defines_field(method: str, field_name: str) -> bool:
    """Returns whether `method`'s request message has the field (in this SDK's proto)."""
    return field_name in _METHODS[method].input_type.fields_by_name


def request(
    method: str,
    fields: Mapping[str, Any],
    *,
    if_defined: Mapping[str, Any] | None = None,
) -> ProtoMessage:
    """Returns `method`'s request message with `fields`, plus those of `if_defined` that are
    not None and that the proto defines (fields newer than some servers: see `defines_field`).

    Raises ValueError or TypeError for a field the proto lacks or a value of the wrong type.
    """
    message_type = _message_class(_METHODS[method].input_type)
    values = dict(fields)
    for name, value in (if_defined or {}).items():
        if value is not None and defines_field(method, name):
            values[name] = value
    return message_type(**values)


def session_message(session: SessionMetadata | None) -> pb.SessionMetadata | None:
    """Returns the protobuf form of `session`, or None."""
    if session is None:
        return None
    return pb.SessionMetadata(
        platform=session.platform, user_id=session.user_id, chat_id=session.chat_id
    )


def call(
    method: str,
    message: ProtoMessage,
    *,
    base_url: str,
    prefix: str,
    encoding: Encoding,
    headers: Mapping[str, str],
    parse: Parse[T],
    resend_safe: bool = False,
) -> Call[T]:
    """Returns the HTTP request of one RPC; read-only methods are always `resend_safe`."""
    if encoding == "json":
        body = json.dumps(
            json_format.MessageToDict(message, preserving_proto_field_name=True),
            separators=(",", ":"),
        ).encode()
    else:
        body = message.SerializeToString()
    path = f"{prefix}/{SERVICE}/{method}"
    return Call(
        method=method,
        path=path,
        url=base_url + path,
        headers={**headers, "Content-Type": _CONTENT_TYPES[encoding]},
        body=body,
        encoding=encoding,
        resend_safe=resend_safe or method in READ_ONLY,
        parse=parse,
    )


def auth_headers(api_key: str | None) -> dict[str, str]:
    """Returns the Authorization header for `api_key` (none without a key)."""
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


def answer(call: Call[Any], status: int, body: bytes, *, retry_after: str | None = None) -> Any:
    """Returns the decoded answer of `call` as a dictionary, or raises its `TwirpError`."""
    if status != 200:
        raise error_from_response(status, body, retry_after=retry_after)
    output = _message_class(_METHODS[call.method].output_type)()
    try:
        if call.encoding == "json":
            json_format.ParseDict(json.loads(body), output, ignore_unknown_fields=True)
        else:
            output.ParseFromString(body)
    except (ValueError, DecodeError, json_format.ParseError) as exc:
        raise _undecodable(call, status) from exc
    return json_format.MessageToDict(
        output, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


def health(status: int, body: bytes) -> Health:
    """Returns the /health report of an answer, whatever its status (503: unhealthy); a body
    that is not a JSON object reads as an empty report."""
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = {}
    return health_from(parsed if isinstance(parsed, dict) else {}, http_status=status)


def _undecodable(call: Call[Any], status: int) -> TwirpError:
    return Internal(
        f"the {call.encoding} answer of {call.method} could not be decoded",
        meta={},
        http_status=status,
    )


def _message_class(descriptor: Descriptor) -> type[ProtoMessage]:
    message_type: type[ProtoMessage] = GetMessageClass(descriptor)
    return message_type
