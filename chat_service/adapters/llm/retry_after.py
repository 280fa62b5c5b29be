"""Reads a provider's Retry-After hint from HTTP response headers."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Mapping

MAX_RETRY_AFTER_S = 3600.0


def retry_after_s(
    headers: Mapping[str, str], *, now: Callable[[], float] = time.time
) -> float | None:
    """Returns the wait the provider asked for, in seconds, or None.

    Reads `retry-after-ms` (OpenAI, Anthropic) first, then `retry-after` as seconds or an
    HTTP date. Values that are negative, unparsable or above MAX_RETRY_AFTER_S are ignored.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    candidates: list[float | None] = []
    if "retry-after-ms" in lowered:
        candidates.append(_number(lowered["retry-after-ms"], scale=0.001))
    if "retry-after" in lowered:
        raw = lowered["retry-after"]
        candidates.append(_number(raw) if _number(raw) is not None else _date(raw, now))
    for value in candidates:
        if value is not None and 0 <= value <= MAX_RETRY_AFTER_S:
            return value
    return None


def _number(raw: str, *, scale: float = 1.0) -> float | None:
    try:
        return float(raw.strip()) * scale
    except ValueError:
        return None


def _date(raw: str, now: Callable[[], float]) -> float | None:
    try:
        moment = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - now())
