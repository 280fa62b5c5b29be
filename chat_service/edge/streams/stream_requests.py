"""What the stream endpoints read from a request: its method, its resume position."""

from __future__ import annotations

from urllib.parse import parse_qs

from starlette.types import Scope

from chat_service.edge.twirp import TwirpError, request_headers


def bad_method(scope: Scope, *, allowed: str = "POST") -> TwirpError:
    """Returns Twirp's bad_route for a request with the wrong HTTP method."""
    method, path = scope["method"], scope["path"]
    return TwirpError(
        "bad_route",
        f'unsupported method "{method}" (only {allowed} is allowed)',
        {"twirp_invalid_route": f"{method} {path}"},
    )


def resume_after(scope: Scope) -> int:
    """Returns the seq to resume after: Last-Event-ID, else ?after=, else 0."""
    headers = request_headers(scope)
    raw, argument = headers.get("last-event-id"), "Last-Event-ID"
    if raw is None:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        raw, argument = (query.get("after") or [""])[0], "after"
    raw = raw.strip()
    if not raw:
        return 0
    if not raw.isdigit() or len(raw) > 18:
        raise TwirpError(
            "invalid_argument",
            f"{argument} must be a non-negative event id",
            {"argument": argument},
        )
    return int(raw)
