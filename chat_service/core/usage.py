"""Usage of language-model calls: what each call of a turn used and cost, and their totals.

A turn's calls are its tool rounds and answer (operation "reply"), its title ("title") and a
summary of older turns ("summary"). Each is stored on the assistant message it belongs to and
in the usage ledger, the record budgets and reports are computed from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from chat_service.ports.chat_model import Completion


@dataclass(frozen=True, slots=True)
class ModelCall:
    """One language-model call: who answered, tokens, USD cost, latency, cache.

    A call answered from the response cache (`cached`) made no provider call: zero tokens,
    zero cost, zero latency; `provider` and `model` are those of the original call.
    """

    operation: str
    provider: str
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: int = 0
    cached: bool = False

    @classmethod
    def of(cls, completion: Completion, operation: str) -> ModelCall:
        """Returns the call that produced `completion` (metered by MeteredChatModel)."""
        return cls(
            operation=operation,
            provider=completion.provider,
            model=completion.model,
            input_tokens=completion.usage.input_tokens,
            output_tokens=completion.usage.output_tokens,
            cost_usd=completion.cost_usd,
            latency_ms=round(completion.latency_s * 1000),
        )

    def to_json(self) -> dict[str, Any]:
        """Returns the call as a JSON object (what `from_json` reads)."""
        return {
            "operation": self.operation,
            "provider": self.provider,
            "model": self.model,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": self.cost_usd,
            "latency_ms": self.latency_ms,
            "cached": self.cached,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ModelCall:
        """Returns the call `to_json` wrote; raises KeyError, TypeError, ValueError."""
        return cls(
            operation=str(data["operation"]),
            provider=str(data["provider"]),
            model=str(data["model"]),
            input_tokens=int(data["input_tokens"]),
            output_tokens=int(data["output_tokens"]),
            cost_usd=float(data["cost_usd"]),
            latency_ms=int(data["latency_ms"]),
            cached=bool(data["cached"]),
        )

    def as_cached(self) -> ModelCall:
        """Returns this call as answered again from the response cache: free and instant."""
        return replace(
            self, input_tokens=0, output_tokens=0, cost_usd=0.0, latency_ms=0, cached=True
        )


@dataclass(frozen=True, slots=True)
class UsageTotals:
    """The sum of some calls; `provider` and `model` are the last call's, `cached` is true
    when every call came from the response cache."""

    provider: str = ""
    model: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: int = 0
    cached: bool = False
    calls: tuple[ModelCall, ...] = ()

    @classmethod
    def of(cls, calls: Iterable[ModelCall]) -> UsageTotals:
        """Returns the totals of `calls` (empty totals for none)."""
        listed = tuple(calls)
        if not listed:
            return cls()
        last = listed[-1]
        return cls(
            provider=last.provider,
            model=last.model,
            input_tokens=sum(c.input_tokens for c in listed),
            output_tokens=sum(c.output_tokens for c in listed),
            cost_usd=sum(c.cost_usd for c in listed),
            latency_ms=sum(c.latency_ms for c in listed),
            cached=all(c.cached for c in listed),
            calls=listed,
        )


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """One entry of the usage ledger: a call made for `owner` (with API key `key_id`, "" when
    unknown) during turn `turn_id`, at `at` (UTC). A `pending` entry is a reservation: its
    cost is the call's worst case until it is settled to the actual cost."""

    owner: str
    key_id: str
    turn_id: str
    at: datetime
    call: ModelCall
    pending: bool = False
