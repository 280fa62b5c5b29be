"""JSON-lines logging: fields of each line, request ids, access lines, uvicorn's loggers."""

from __future__ import annotations

import io
import json
import logging

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from chat_service.config import Settings, SettingsError
from chat_service.edge.middleware.access_log import AccessLogMiddleware
from chat_service.edge.middleware.request_id import RequestIdMiddleware
from chat_service.edge.middleware.routes import RouteLabels
from chat_service.observability.logs import configure_logging


@pytest.fixture
def log_lines():
    """Configures logging into a buffer; yields a function returning the JSON lines so far."""
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = configure_logging(level="INFO", secrets=["literal-secret-99"], stream=stream)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(level)


def _app(route_of=None):
    async def hello(request):
        logging.getLogger("test.handler").info("inside", extra={"seen": True})
        return PlainTextResponse("hi")

    async def boom(request):
        raise RuntimeError("boom with literal-secret-99")

    routes = [Route("/items/{item_id}", hello), Route("/boom", boom)]
    labels = route_of or RouteLabels(routes, twirp_paths={"/twirp/x.Y/Z"})
    middleware = [
        Middleware(RequestIdMiddleware),
        Middleware(AccessLogMiddleware, route_of=labels),
    ]
    return Starlette(routes=routes, middleware=middleware)


def test_a_line_has_level_logger_message_and_timestamp(log_lines):
    logging.getLogger("test.logs").warning("hello %s", "world", extra={"model": "m"})
    (line,) = [entry for entry in log_lines() if entry["logger"] == "test.logs"]
    assert line["level"] == "WARNING"
    assert line["message"] == "hello world"
    assert line["model"] == "m"
    assert "timestamp" in line


def test_configured_secrets_are_redacted(log_lines):
    logging.getLogger("test.logs").info("key literal-secret-99 used")
    assert "literal-secret-99" not in json.dumps(log_lines())


def test_unknown_level_is_refused():
    with pytest.raises(ValueError, match="log level"):
        configure_logging(level="LOUD")
    with pytest.raises(SettingsError, match="LOG_LEVEL"):
        Settings.from_env({"LOG_LEVEL": "LOUD"})


def test_uvicorn_records_reach_the_json_handler_and_its_access_log_is_off(log_lines):
    logging.getLogger("uvicorn.error").info("from uvicorn")
    logging.getLogger("uvicorn.access").info("access line from uvicorn")
    messages = [entry["message"] for entry in log_lines()]
    assert "from uvicorn" in messages
    assert "access line from uvicorn" not in messages


def test_request_id_is_echoed_and_on_every_line_of_the_request(log_lines):
    with TestClient(_app()) as client:
        response = client.get("/items/42?token=abc", headers={"X-Request-Id": "req-123"})
    assert response.headers["x-request-id"] == "req-123"
    lines = [entry for entry in log_lines() if entry.get("request_id") == "req-123"]
    assert {entry["logger"] for entry in lines} == {"test.handler", "chat_service.access"}


def test_an_unusable_request_id_is_replaced(log_lines):
    with TestClient(_app()) as client:
        response = client.get("/items/1", headers={"X-Request-Id": "bad id\twith spaces"})
    assert len(response.headers["x-request-id"]) == 32


def test_one_access_line_per_request_with_route_template_and_no_query(log_lines):
    with TestClient(_app()) as client:
        client.get("/items/42?token=query-secret")
        client.get("/nowhere")
    access = [entry for entry in log_lines() if entry["logger"] == "chat_service.access"]
    assert [(a["route"], a["path"], a["status"]) for a in access] == [
        ("/items/{item_id}", "/items/42", 200),
        ("unmatched", "/nowhere", 404),
    ]
    assert all(a["level"] == "INFO" and a["duration_ms"] >= 0 for a in access)
    # (Not a hex string: a random request id could contain it.)
    assert "query-secret" not in json.dumps(access)


def test_a_failing_request_is_logged_as_500_with_a_redacted_traceback(log_lines):
    with TestClient(_app(), raise_server_exceptions=False) as client:
        assert client.get("/boom").status_code == 500
    entries = log_lines()
    (access,) = [entry for entry in entries if entry["logger"] == "chat_service.access"]
    assert (access["status"], access["level"]) == (500, "ERROR")
    assert "literal-secret-99" not in json.dumps(entries)
