"""Provider HTTP errors as domain errors: which are transient, and a safe detail message."""

from __future__ import annotations

import re
from collections.abc import Mapping

from chat_service.adapters.llm.retry_after import retry_after_s
from chat_service.core.errors import ModelUnavailable
from chat_service.ports.chat_model import ModelRejected

# 408/409/429 and 5xx: what both official SDKs themselves retry.
TRANSIENT_STATUSES = frozenset({408, 409, 429})
DETAIL_MAX_CHARS = 300
_KEY_LIKE = re.compile(r"\b(?:sk-ant|sk|rk|pk)-[A-Za-z0-9_*\-]{6,}")


def status_error(
    provider: str, status: int, detail: str, headers: Mapping[str, str]
) -> ModelUnavailable | ModelRejected:
    """Returns the error for an HTTP `status` answer: ModelUnavailable (with the provider's
    Retry-After hint) when retrying may help, ModelRejected otherwise."""
    if status in TRANSIENT_STATUSES or status >= 500:
        return ModelUnavailable(
            f"{provider} answered HTTP {status}{detail}", retry_after_s=retry_after_s(headers)
        )
    return ModelRejected(f"{provider} rejected the request (HTTP {status}){detail}")


def safe_detail(message: object, *, api_key: object) -> str:
    """Returns ": <provider's message>" with the key and anything key-like masked, or ""."""
    if not isinstance(message, str) or not message.strip():
        return ""
    if isinstance(api_key, str) and api_key:
        message = message.replace(api_key, "***")
    message = _KEY_LIKE.sub("***", message)
    return f": {' '.join(message.split())[:DETAIL_MAX_CHARS]}"
