"""Runs an ASGI app under a real uvicorn server on loopback, in a background thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from chat_service.edge.http_protocol import HeaderLimitedHttpToolsProtocol


def free_port() -> int:
    """Returns a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(app: Any, *, port: int | None = None, timeout_s: float = 30.0) -> Iterator[str]:
    """Serves `app` until the block ends; yields its base URL (http://127.0.0.1:PORT)."""
    port = port or free_port()
    # log_config=None: uvicorn leaves logging alone, so its records reach the root logger
    # (and the log audit) as they do once the app configured logging in production.
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        log_config=None,
        access_log=False,
        lifespan="auto",
        proxy_headers=False,  # as the app is run: TRUSTED_PROXIES alone decides
        http=HeaderLimitedHttpToolsProtocol,  # as the launcher serves it: headers bounded
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout_s)
