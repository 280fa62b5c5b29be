"""The models a conversation may choose: the operator's allow-list, each with its fallback chain."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from chat_service.core.errors import InvalidRequest
from chat_service.ports.chat_model import ChatModel

# Display names of well-known models; any other model shows as its own name (or as MODELS says).
KNOWN_NAMES: Mapping[str, str] = {
    "gpt-4o-mini": "GPT-4o mini",
    "gpt-4o": "GPT-4o",
    "gpt-4.1": "GPT-4.1",
    "gpt-4.1-mini": "GPT-4.1 mini",
    "gpt-4.1-nano": "GPT-4.1 nano",
    "o4-mini": "o4-mini",
    "claude-haiku-4-5": "Claude Haiku 4.5",
    "claude-sonnet-4-5": "Claude Sonnet 4.5",
    "claude-opus-4-1": "Claude Opus 4.1",
    "claude-3-5-haiku": "Claude 3.5 Haiku",
    "offline": "Offline (no language model)",
}


@dataclass(frozen=True, slots=True)
class ModelOption:
    """One model of the allow-list: `id` is "provider:model" (e.g. "openai:gpt-4o-mini").

    `input_price` and `output_price` are USD per million tokens, None when unknown.
    """

    id: str
    display_name: str
    input_price: float | None = None
    output_price: float | None = None

    @property
    def provider(self) -> str:
        """Returns the provider part of the id ("openai")."""
        return self.id.partition(":")[0]


def display_name(model_id: str) -> str:
    """Returns the display name of "provider:model": the known name, else the model's own."""
    name = model_id.partition(":")[2] or model_id
    return KNOWN_NAMES.get(name, name)


class ModelCatalog:
    """The allow-list, in the operator's order (the first is the default), and for each
    model the ChatModel that answers for it: the chosen model first, the fallback chain
    behind it."""

    def __init__(self, entries: Sequence[tuple[ModelOption, ChatModel]]) -> None:
        if not entries:
            raise ValueError("a model catalog needs at least one model")
        self._options = tuple(option for option, _ in entries)
        self._models = {option.id: model for option, model in entries}
        if len(self._models) != len(self._options):
            raise ValueError("a model catalog lists each model once")

    @classmethod
    def single(cls, model: ChatModel) -> ModelCatalog:
        """Returns a catalog of one model, named by the model's first link."""
        model_id = model.name.split(">")[0]
        return cls([(ModelOption(model_id, display_name(model_id)), model)])

    def wrapped(self, wrap: Callable[[ChatModel], ChatModel]) -> ModelCatalog:
        """Returns the same allow-list with each model's ChatModel wrapped by `wrap`."""
        return ModelCatalog([(o, wrap(self._models[o.id])) for o in self._options])

    @property
    def options(self) -> tuple[ModelOption, ...]:
        """Returns the allow-list, the default first."""
        return self._options

    @property
    def default(self) -> ModelOption:
        """Returns the default model (the first of the list)."""
        return self._options[0]

    def checked(self, requested: str, *, argument: str = "model") -> str:
        """Returns `requested` stripped ("" stays "": the default); raises InvalidRequest
        naming the allowed models when it is not one of them."""
        requested = requested.strip()
        if requested and requested not in self._models:
            allowed = ", ".join(option.id for option in self._options)
            raise InvalidRequest(argument, f"unknown model {requested!r}; allowed: {allowed}")
        return requested

    def resolved(self, model_id: str) -> str:
        """Returns the model a stored choice means: itself while allowed, else (none set,
        or no longer allowed) the default."""
        return model_id if model_id in self._models else self.default.id

    def chat_model(self, model_id: str) -> ChatModel:
        """Returns the ChatModel (with its fallbacks) that answers for `model_id`, the
        default's for "" or a model no longer allowed."""
        return self._models[self.resolved(model_id)]
