"""The SDK's exceptions: one class per Twirp error code, plus transport failures.

Every exception the SDK raises derives from `ChatClientError`. A Twirp error answered by the
service (or by a proxy in front of it) is a `TwirpError` subclass named after its code
(`NotFound`, `InvalidArgument`, `Unavailable`...); a request that got no answer is a
`TransportError` (`ConnectionFailed`, `TimedOut`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from twirp_wire.codes import intermediary_code


class ChatClientError(Exception):
    """Base of every error the SDK raises."""


class TransportError(ChatClientError):
    """The request got no HTTP answer."""


class ConnectionFailed(TransportError):
    """The connection could not be made, or broke before the answer arrived.

    `before_send` is True when the request surely never reached the server (connection refused,
    connect timeout), so resending it cannot repeat its effect.
    """

    def __init__(self, message: str, *, before_send: bool) -> None:
        super().__init__(message)
        self.before_send = before_send


class TimedOut(TransportError):
    """No answer within the client's timeout; the server may still complete the request."""


class TwirpError(ChatClientError):
    """A Twirp error: `code`, `msg`, `meta` (string values) and the HTTP status it came with.

    `retry_after_s` holds the server's Retry-After header, when it sent one.
    """

    code = "unknown"

    def __init__(
        self,
        msg: str,
        *,
        meta: Mapping[str, str] | None = None,
        http_status: int = 0,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(f"{self.code}: {msg}" if msg else self.code)
        self.msg = msg
        self.meta: dict[str, str] = dict(meta or {})
        self.http_status = http_status
        self.retry_after_s = retry_after_s

    @property
    def from_intermediary(self) -> bool:
        """Whether a proxy, not the service, produced this error (it sent no Twirp body)."""
        return self.meta.get("http_error_from_intermediary") == "true"


class Canceled(TwirpError):
    code = "canceled"


class Unknown(TwirpError):
    code = "unknown"


class InvalidArgument(TwirpError):
    """A field breaks its rule; `meta["argument"]` names it."""

    code = "invalid_argument"


class Malformed(TwirpError):
    code = "malformed"


class DeadlineExceeded(TwirpError):
    code = "deadline_exceeded"


class NotFound(TwirpError):
    code = "not_found"


class BadRoute(TwirpError):
    """No such method at that URL: check the base URL and the Twirp prefix."""

    code = "bad_route"


class AlreadyExists(TwirpError):
    code = "already_exists"


class PermissionDenied(TwirpError):
    code = "permission_denied"


class Unauthenticated(TwirpError):
    """The API key is missing or wrong."""

    code = "unauthenticated"


class ResourceExhausted(TwirpError):
    """Rate limited; `retry_after_s` says when to try again, if the server said."""

    code = "resource_exhausted"


class FailedPrecondition(TwirpError):
    code = "failed_precondition"


class Aborted(TwirpError):
    code = "aborted"


class OutOfRange(TwirpError):
    code = "out_of_range"


class Unimplemented(TwirpError):
    code = "unimplemented"


class Internal(TwirpError):
    code = "internal"


class Unavailable(TwirpError):
    """A dependency of the service is down; nothing was done, so the call may be retried."""

    code = "unavailable"


class DataLoss(TwirpError):
    code = "data_loss"


ERROR_TYPES: dict[str, type[TwirpError]] = {
    cls.code: cls
    for cls in (
        Canceled,
        Unknown,
        InvalidArgument,
        Malformed,
        DeadlineExceeded,
        NotFound,
        BadRoute,
        AlreadyExists,
        PermissionDenied,
        Unauthenticated,
        ResourceExhausted,
        FailedPrecondition,
        Aborted,
        OutOfRange,
        Unimplemented,
        Internal,
        Unavailable,
        DataLoss,
    )
}


def error_from_response(status: int, body: bytes, *, retry_after: str | None = None) -> TwirpError:
    """Returns the Twirp error of a non-200 answer: its JSON body's code, msg and meta, or,
    when the body is not a Twirp error (a proxy's page), the code for the HTTP status with
    `meta["http_error_from_intermediary"] = "true"`."""
    retry_after_s = _seconds(retry_after)
    parsed = _twirp_body(body)
    if parsed is not None:
        code, msg, meta = parsed
        error_type = ERROR_TYPES.get(code, Unknown)
        return error_type(msg, meta=meta, http_status=status, retry_after_s=retry_after_s)
    code = intermediary_code(status)
    meta = {"http_error_from_intermediary": "true", "status_code": str(status)}
    msg = f"HTTP {status} without a Twirp error body"
    return ERROR_TYPES[code](msg, meta=meta, http_status=status, retry_after_s=retry_after_s)


def _twirp_body(body: bytes) -> tuple[str, str, dict[str, str]] | None:
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("code"), str):
        return None
    msg = parsed.get("msg")
    meta = parsed.get("meta")
    meta_strings = {str(k): str(v) for k, v in meta.items()} if isinstance(meta, dict) else {}
    return parsed["code"], msg if isinstance(msg, str) else "", meta_strings


def _seconds(retry_after: str | None) -> float | None:
    if not retry_after:
        return None
    try:
        return max(0.0, float(retry_after))
    except ValueError:
        return None  # an HTTP date: rare for APIs, and not worth a date parser here
