"""The price table of language-model calls: USD per million input and output tokens.

Every call's cost (stored with its turn, counted against budgets, exported as metrics)
comes from this table: the built-in list prices, overridden or extended by operators
(LLM_PRICES_FILE, then LLM_PRICES; see `PriceTable.load`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million tokens, for the prompt (input) and the completion (output)."""

    input_per_million: float
    output_per_million: float

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        """Returns the USD cost of a call with these token counts."""
        return (
            input_tokens * self.input_per_million + output_tokens * self.output_per_million
        ) / 1_000_000


# List prices at the time of writing; override or extend with LLM_PRICES_FILE or LLM_PRICES.
DEFAULT_PRICES: Mapping[str, Price] = {
    "gpt-4o-mini": Price(0.15, 0.60),
    "gpt-4o": Price(2.50, 10.00),
    "gpt-4.1": Price(2.00, 8.00),
    "gpt-4.1-mini": Price(0.40, 1.60),
    "gpt-4.1-nano": Price(0.10, 0.40),
    "gpt-4-turbo": Price(10.00, 30.00),
    "gpt-3.5-turbo": Price(0.50, 1.50),
    "o3-mini": Price(1.10, 4.40),
    "o4-mini": Price(1.10, 4.40),
    "claude-3-5-haiku": Price(0.80, 4.00),
    "claude-3-5-sonnet": Price(3.00, 15.00),
    "claude-3-7-sonnet": Price(3.00, 15.00),
    "claude-sonnet-4": Price(3.00, 15.00),
    "claude-opus-4": Price(15.00, 75.00),
}


class PriceTable:
    """Finds a model's price: the exact name, else the longest name it starts with
    (`gpt-4o-mini-2024-07-18` is priced as `gpt-4o-mini`)."""

    def __init__(self, prices: Mapping[str, Price]) -> None:
        self._prices = dict(prices)
        self._by_length = sorted(self._prices, key=len, reverse=True)

    @classmethod
    def from_json(cls, text: str) -> PriceTable:
        """Returns the defaults overridden by `text`: a JSON object mapping model names to
        `{"input": USD per 1M tokens, "output": USD per 1M tokens}` (blank: the defaults).

        Raises ValueError naming what is wrong.
        """
        return cls.load(prices_json=text)

    @classmethod
    def load(cls, *, prices_json: str = "", file_text: str = "") -> PriceTable:
        """Returns the defaults overridden by `file_text` (the contents of a JSON or YAML
        file, same shape as `from_json`), then by `prices_json`; blank texts change nothing.

        Raises ValueError naming what is wrong.
        """
        prices = dict(DEFAULT_PRICES)
        if file_text.strip():
            try:
                loaded = yaml.safe_load(file_text)  # JSON is YAML too
            except yaml.YAMLError as exc:
                raise ValueError(f"not JSON or YAML: {exc}") from None
            prices.update(_entries(loaded))
        if prices_json.strip():
            try:
                raw = json.loads(prices_json)
            except json.JSONDecodeError as exc:
                raise ValueError(f"not JSON: {exc.msg}") from None
            prices.update(_entries(raw))
        return cls(prices)

    def highest(self, models: list[str]) -> Price:
        """Returns a price as high as any of `models`' on each side (input, output), for a
        worst-case estimate when any of them may answer; unpriced models count 0."""
        found = [p for p in map(self.price_of, models) if p is not None]
        return Price(
            max((p.input_per_million for p in found), default=0.0),
            max((p.output_per_million for p in found), default=0.0),
        )

    def price_of(self, model: str) -> Price | None:
        """Returns the price of `model`, None when the table has none."""
        if model in self._prices:
            return self._prices[model]
        for name in self._by_length:
            if model.startswith(name):
                return self._prices[name]
        return None


def _entries(raw: Any) -> dict[str, Price]:
    if not isinstance(raw, dict):
        raise ValueError('expected an object like {"gpt-4o-mini": {"input": 0.15, "output": 0.6}}')
    prices: dict[str, Price] = {}
    for model, entry in raw.items():
        if not isinstance(entry, dict) or set(entry) != {"input", "output"}:
            raise ValueError(f"{model}: expected {{'input': number, 'output': number}}")
        values = (entry["input"], entry["output"])
        if not all(
            isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 for v in values
        ):
            raise ValueError(f"{model}: prices must be non-negative numbers")
        prices[str(model)] = Price(float(values[0]), float(values[1]))
    return prices
