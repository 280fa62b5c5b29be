"""When the SDK retries a call: `unavailable` answers, connection failures, and the turns the
service gave up on because another write held the conversation.

A turn (Start or Continue) is all-or-nothing on the service: `unavailable` means nothing was
stored, so it is always retried. A broken connection is retried when the request surely never
left (connection refused), when the method only reads, or when an idempotency key makes a
resend harmless; otherwise the service may have answered already, and a resend could produce
a second turn. An `aborted` turn stored nothing; it is retried when the reason is contention
(another turn or write held the conversation, or the same idempotency key is still running),
never when the assistant itself gave up (tool rounds, repeated calls: a retry would pay again
for the same end). Timeouts are never retried: the service is slow, and retrying adds load.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import backoff

from chat_client.errors import Aborted, ConnectionFailed, Unavailable

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

# `aborted` reasons that mean "busy, nothing stored": a later attempt may go through.
RETRIED_ABORT_REASONS = frozenset(
    {"turn_busy", "turn_conflict", "write_conflict", "idempotency_key_in_use"}
)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """`retries` extra attempts, waiting a random time up to `backoff_base_s * 2**n` (capped
    at `backoff_max_s`) before the n-th retry."""

    retries: int = 2
    backoff_base_s: float = 0.25
    backoff_max_s: float = 4.0

    def __post_init__(self) -> None:
        if self.retries < 0 or self.backoff_base_s < 0 or self.backoff_max_s < 0:
            raise ValueError("retries and backoff times must not be negative")


def should_retry(exc: Exception, *, resend_safe: bool) -> bool:
    """Returns whether a call that failed with `exc` may be sent again."""
    if isinstance(exc, Unavailable):
        # A proxy's 502/504 may come after the service did the work.
        return resend_safe or not exc.from_intermediary or exc.http_status == 503
    if isinstance(exc, ConnectionFailed):
        return resend_safe or exc.before_send
    if isinstance(exc, Aborted):
        return exc.meta.get("reason") in RETRIED_ABORT_REASONS
    return False


def retrying(policy: RetryPolicy, *, resend_safe: bool) -> Callable[[F], F]:
    """Returns a decorator that retries a sync or async function under `policy`."""
    decorator: Callable[[F], F] = backoff.on_exception(
        backoff.expo,
        (Unavailable, ConnectionFailed, Aborted),
        max_tries=policy.retries + 1,
        giveup=lambda exc: not should_retry(exc, resend_safe=resend_safe),
        jitter=backoff.full_jitter,
        factor=policy.backoff_base_s,
        max_value=policy.backoff_max_s,
        on_backoff=_log_backoff,
        logger=None,
    )
    return decorator


def _log_backoff(details: Any) -> None:
    logger.info(
        "retrying a chat service call",
        extra={"attempt": details["tries"], "wait_s": round(details["wait"], 3)},
    )
