"""A CLIENT span per MongoDB command, from pymongo's command monitoring (no global patching)."""

from __future__ import annotations

import threading

from opentelemetry.trace import Span, SpanKind, StatusCode, Tracer
from pymongo import monitoring

# Connection handshakes and authentication: noise, and the latter carry credentials.
_SKIPPED = frozenset(
    {"hello", "ismaster", "saslstart", "saslcontinue", "authenticate", "getnonce", "endsessions"}
)


class MongoCommandTracer(monitoring.CommandListener):
    """Pass to the MongoClient (`event_listeners=[...]`): each command becomes a span
    `<command> <collection>` under the span current in the calling thread.

    Attributes: db.system(.name), db.namespace, db.collection.name, db.operation.name,
    server.address, server.port; never the command's documents (they hold user content).
    """

    def __init__(self, tracer: Tracer) -> None:
        self._tracer = tracer
        self._spans: dict[tuple[int, object], Span] = {}
        self._lock = threading.Lock()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        name = event.command_name
        if name.lower() in _SKIPPED:
            return
        target = event.command.get(name)
        collection = target if isinstance(target, str) else ""
        attributes: dict[str, str | int] = {
            "db.system": "mongodb",
            "db.system.name": "mongodb",
            "db.namespace": event.database_name,
            "db.operation.name": name,
        }
        if collection:
            attributes["db.collection.name"] = collection
        host, port = event.connection_id
        attributes["server.address"] = str(host)
        if port is not None:
            attributes["server.port"] = int(port)
        span_name = f"{name} {collection}" if collection else name
        span = self._tracer.start_span(span_name, kind=SpanKind.CLIENT, attributes=attributes)
        with self._lock:
            self._spans[(event.request_id, event.connection_id)] = span

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        span = self._pop(event)
        if span is not None:
            span.end()

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        span = self._pop(event)
        if span is not None:
            failure = event.failure or {}
            span.set_attribute("error.type", str(failure.get("codeName", "error")))
            span.set_status(StatusCode.ERROR)
            span.end()

    def _pop(
        self, event: monitoring.CommandSucceededEvent | monitoring.CommandFailedEvent
    ) -> Span | None:
        with self._lock:
            return self._spans.pop((event.request_id, event.connection_id), None)
