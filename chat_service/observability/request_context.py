"""What the current request is, for the logs: its id (a context variable per request)."""

from __future__ import annotations

from contextvars import ContextVar

# Set by the request-id middleware; threads started with the request's context see it
# (anyio's to_thread copies the context).
request_id: ContextVar[str] = ContextVar("request_id", default="")
