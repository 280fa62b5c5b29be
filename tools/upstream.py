"""HttpUpstream: one HTTP service a tool reads from, behind its own circuit breaker."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

import requests

from tools.breakers import BreakerOpen, Breakers
from tools.registry import ToolError

logger = logging.getLogger(__name__)


class UpstreamFailure(ToolError):
    """The upstream is unreachable, timed out or failed (5xx, 429): counts against its breaker."""


class UpstreamRefused(ToolError):
    """The upstream refused this request (4xx other than 429): not a sign it is down."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def _counts(exc: BaseException) -> bool:
    return isinstance(exc, UpstreamFailure)


class HttpUpstream:
    """GETs from `base_url` with a timeout, through the breaker named "tool:<name>".

    Query parameters go through `params` (so requests URL-encodes them). Errors never carry
    the URL, which may hold an API key in its query.
    """

    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        http: requests.Session,
        breakers: Breakers,
        timeout_s: float,
        max_bytes: int = 2_000_000,
    ) -> None:
        self.name = name
        self._base_url = base_url.rstrip("/")
        self._http = http
        self._breaker = breakers.breaker(f"tool:{name}", counts=_counts)
        self._timeout_s = timeout_s
        self._max_bytes = max_bytes

    def get_json(self, path: str, params: Mapping[str, str | int | float]) -> Any:
        """Returns the decoded JSON body of GET `path`.

        Raises UpstreamFailure (down, timeout, 5xx, 429, unusable body, circuit open) or
        UpstreamRefused (other 4xx).
        """
        body = self._get(path, params)
        try:
            return json.loads(body)
        except ValueError:
            raise UpstreamFailure(f"{self.name} sent a response that is not JSON") from None

    def get_bytes(
        self, path: str = "", params: Mapping[str, str | int | float] | None = None
    ) -> bytes:
        """Returns the body of GET `path` (at most `max_bytes`); raises like `get_json`."""
        return self._get(path, params or {})

    def _get(self, path: str, params: Mapping[str, str | int | float]) -> bytes:
        try:
            return self._breaker.call(lambda: self._fetch(path, params))
        except BreakerOpen as exc:
            raise UpstreamFailure(
                f"{self.name} is unavailable (it failed repeatedly; retry in {exc.remaining_s:.0f} s)"
            ) from None

    def _fetch(self, path: str, params: Mapping[str, str | int | float]) -> bytes:
        url = f"{self._base_url}{path}"
        try:
            with self._http.get(
                url, params=dict(params), timeout=self._timeout_s, stream=True
            ) as response:
                status = response.status_code
                body = self._read_capped(response)
        except requests.Timeout:
            raise UpstreamFailure(f"{self.name} timed out") from None
        except (requests.RequestException, OSError) as exc:
            logger.info(
                "upstream unreachable", extra={"upstream": self.name, "error": type(exc).__name__}
            )
            raise UpstreamFailure(f"{self.name} is unreachable") from None
        if status == 429 or status >= 500:
            raise UpstreamFailure(f"{self.name} answered HTTP {status}")
        if status >= 400:
            raise UpstreamRefused(f"{self.name} refused the request (HTTP {status})", status)
        return body

    def _read_capped(self, response: requests.Response) -> bytes:
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_content(chunk_size=65536):
            size += len(chunk)
            if size > self._max_bytes:
                raise UpstreamFailure(f"{self.name} sent more than {self._max_bytes} bytes")
            chunks.append(chunk)
        return b"".join(chunks)
