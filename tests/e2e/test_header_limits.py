"""Request headers are bounded in size and time, as the service is launched (raw sockets).

One service started by `python -m chat_service.launcher` (the image's and `make run`'s command)
with MAX_HEADER_BYTES=32768 and HEADER_TIMEOUT_S=1, both unlike the defaults (64 KiB, 10 s), so
the tests also show that the settings reach the HTTP protocol (the answers name them). The
timing assertions give the server ten times its timeout (a loaded machine may run its timer
late): only a connection left open for good fails them.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.e2e.test_serving import launched

MAX_HEADER_BYTES = 32_768
HEADER_TIMEOUT_S = 1.0
PATIENCE_S = 10 * HEADER_TIMEOUT_S
LIST = "/twirp/acai.chat.ChatService/ListConversations"


@pytest.fixture(scope="module")
def service(redis_url, mongo_uri, tmp_path_factory):
    """Yields ((host, port), pid of the uvicorn worker) of the launched service."""
    with launched(
        redis_url,
        mongo_uri,
        tmp_path_factory.mktemp("header-limits"),
        latency_s=0.0,
        MAX_HEADER_BYTES=str(MAX_HEADER_BYTES),
        HEADER_TIMEOUT_S=str(HEADER_TIMEOUT_S),
        API_RATE_LIMIT_RPS="0",  # many quick requests from one address; limits are tested apart
    ) as (url, process, _, _):
        parts = urlsplit(url)
        # One worker: the launcher became uvicorn, which serves in this very process.
        yield (parts.hostname, parts.port), process.pid


def _connect(service, timeout_s: float = PATIENCE_S) -> socket.socket:
    address, _ = service
    return socket.create_connection(address, timeout=timeout_s)


def _read_all(sock: socket.socket) -> bytes:
    """Reads until the server closes the connection (socket.timeout if it does not)."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def _request_of_size(total: int) -> bytes:
    """Returns a GET /health request whose line and headers are exactly `total` bytes."""
    start = b"GET /health HTTP/1.1\r\nHost: test\r\nConnection: close\r\nX-Pad: "
    end = b"\r\n\r\n"
    return start + b"a" * (total - len(start) - len(end)) + end


def _status(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def _twirp_body(response: bytes) -> dict:
    head, _, body = response.partition(b"\r\n\r\n")
    assert b"content-type: application/json" in head.lower()
    return json.loads(body)


def _peak_rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1])


def test_headers_up_to_the_limit_are_served(service):
    with _connect(service) as sock:
        sock.sendall(_request_of_size(MAX_HEADER_BYTES))
        assert _status(_read_all(sock)) == 200


def test_one_byte_over_the_limit_is_refused_with_431_in_twirp_json(service):
    with _connect(service) as sock:
        sock.sendall(_request_of_size(MAX_HEADER_BYTES + 1))
        response = _read_all(sock)  # the server closes the connection after its answer
    assert _status(response) == 431
    body = _twirp_body(response)
    assert body["code"] == "invalid_argument"
    assert body["meta"] == {"max_bytes": str(MAX_HEADER_BYTES)}


def test_a_64_mib_header_is_refused_without_growing_the_worker(service):
    _, pid = service
    if not Path(f"/proc/{pid}/status").exists():
        pytest.skip("peak memory is read from /proc")
    peak_before = _peak_rss_kib(pid)
    with _connect(service) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: test\r\nX-Big: ")
        try:
            for _ in range(1024):
                sock.sendall(b"a" * 65536)  # 64 MiB in all
        except OSError:
            pass  # the server closed its side after the answer: the rest is not wanted
        response = sock.recv(65536)
    assert _status(response) == 431
    # Reading it whole took ~130 MB more; a bounded read takes nothing noticeable.
    assert _peak_rss_kib(pid) - peak_before < 16 * 1024


def test_half_a_request_is_answered_408_and_closed_after_the_timeout(service):
    with _connect(service) as sock:
        started = time.monotonic()
        sock.sendall(b"GET /hea")
        sock.sendall(b"lth HTTP/1.1\r\nHost: test\r\nX-Slow: ")
        response = _read_all(sock)
        waited = time.monotonic() - started
    assert _status(response) == 408
    body = _twirp_body(response)
    assert body["code"] == "deadline_exceeded"
    assert body["msg"] == f"the request headers did not arrive within {HEADER_TIMEOUT_S:g} s"
    assert waited >= HEADER_TIMEOUT_S * 0.9


def test_headers_trickled_line_by_line_still_end_at_the_deadline(service):
    # A slowloris keeps every read within any idle timeout: the deadline is for all headers.
    with _connect(service, timeout_s=0.2) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\n")
        deadline = time.monotonic() + PATIENCE_S
        response = b""
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                # Nothing came back yet: one more header line. If the server closed just now,
                # the send fails and the next read still gets what it answered before.
                with contextlib.suppress(ConnectionError):
                    sock.sendall(b"X-A: b\r\n")
                continue
            except ConnectionError:
                break  # a line sent after the close was reset; the answer was read already
            if not chunk:
                break
            response += chunk
        else:
            pytest.fail(f"the connection was still open after {PATIENCE_S} s")
    assert _status(response) == 408


def test_a_connection_that_sends_nothing_is_closed_without_an_answer(service):
    with _connect(service) as sock:
        assert _read_all(sock) == b""


def test_the_next_request_on_a_kept_alive_connection_has_the_same_deadline(service):
    with _connect(service) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n")
        first = sock.recv(65536)
        assert _status(first) == 200
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: te")
        assert _status(_read_all(sock)) == 408


def test_a_body_larger_than_the_header_limit_is_read_as_a_body(service):
    body = json.dumps({"page_size": 1, "padding": "x" * (4 * MAX_HEADER_BYTES)}).encode()
    head = (
        f"POST {LIST} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    with _connect(service) as sock:
        sock.sendall(head + body)  # one write: headers and body arrive in the same reads
        response = _read_all(sock)
    assert _status(response) == 200, response[-300:]
    assert "conversations" in _twirp_body(response)


def test_pipelined_requests_are_all_answered(service):
    body = b'{"page_size": 1}'
    one = (
        f"POST {LIST} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    last = b"GET /health HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    with _connect(service) as sock:
        sock.sendall(one * 50 + last)
        response = _read_all(sock)
    assert re.findall(rb"HTTP/1.1 (\d+)", response) == [b"200"] * 51
