"""CachedAnswers: the assistant's replies and titles through the response cache, per owner."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from chat_service.core.assistant import Assistant
from chat_service.core.cache.keys import answer_key
from chat_service.core.cache.stats import CacheOutcome
from chat_service.core.cache.tool_results import ToolVolatility
from chat_service.core.model_catalog import ModelCatalog
from chat_service.core.models import Message, NewMessage, Role, Summary, ToolCall
from chat_service.core.replies import Reply, Title
from chat_service.core.turn_events import TurnProgress
from chat_service.core.usage import ModelCall
from chat_service.ports.chat_model import Usage
from chat_service.ports.response_cache import CacheGenerations, Computed, ResponseCache

READ_NOW = -1  # `generation` argument: read the owner's generation at the call
REPLAY_CHUNK_CHARS = 64  # a reused answer streams in pieces of about this size

CachedCalls = Callable[[Sequence[ModelCall]], None]


def _ignore(calls: Sequence[ModelCall]) -> None:
    pass


class CachedAnswers:
    """Answers like the assistant, reusing an earlier answer to the very same question.

    A reply is keyed by the owner and everything the assistant's answer depends on
    (`PreparedReply.basis`: the very prompt that is sent); it is cached for `ttl_s`, or less when it used tools (the
    smallest of their TTLs), and not at all when one of its tools is never cached, a tool
    call failed, or it summarized older turns. A reply another request computed (from the
    cache, or shared while both waited) cost nothing, so its usage is zero, and it carries no
    summary (the older turns are offered for summary again next turn). It carries the whole
    turn group, tool calls and results included, to store as the turn; its model calls are
    marked cached (zero tokens and cost) and passed to `on_cached` (the usage ledger). With no
    cache, every call reaches the assistant.
    """

    @classmethod
    def uncached(cls, assistant: Assistant) -> CachedAnswers:
        """Answers straight from the assistant, caching nothing."""
        return cls(assistant, None, ttl_s=0)

    def __init__(
        self,
        assistant: Assistant,
        cache: ResponseCache | None,
        *,
        ttl_s: float,
        volatility: ToolVolatility | None = None,
        generations: CacheGenerations | None = None,
        on_cached: CachedCalls = _ignore,
    ) -> None:
        """`generations` scopes every key to the owner's cache generation, so that
        `forget_owner` (a deletion) puts all the owner's cached answers out of reach."""
        self._assistant = assistant
        self._cache = cache if ttl_s > 0 else None
        self._ttl_s = ttl_s
        self._volatility = volatility or ToolVolatility()
        self._generations = generations
        self._on_cached = on_cached

    @property
    def models(self) -> ModelCatalog:
        """Returns the assistant's allow-list of models."""
        return self._assistant.models

    def generation(self, owner: str) -> int | None:
        """Returns the owner's cache generation, None when it cannot be read (then nothing
        is cached). A turn reads it before it reads the conversation: an answer computed
        from a conversation deleted meanwhile is then stored under a generation the
        deletion has already left behind."""
        if self._cache is None or self._generations is None:
            return 0
        return self._generations.current(owner)

    def forget_owner(self, owner: str) -> None:
        """Makes every answer cached for `owner` unreachable; raises Unavailable."""
        if self._generations is not None:
            self._generations.bump(owner)

    def reply(
        self,
        owner: str,
        history: Sequence[Message],
        message: str,
        *,
        summary: Summary | None = None,
        platform: str = "",
        generation: int | None = READ_NOW,
        progress: TurnProgress | None = None,
        model: str = "",
        instructions: str = "",
        fresh: bool = False,
    ) -> Reply:
        """Returns the reply to `message`; raises as Assistant.answer. `generation` is what
        `generation(owner)` returned when the turn began (read now by default); `model` and
        `instructions` as in Assistant.prepare. With `progress`, a reply the assistant makes
        streams as it is made, and a reused one is replayed to it as a short stream of text.
        A `fresh` reply (a regenerate: the asker wants another answer) is neither read from
        the cache nor stored in it."""
        prepared = self._assistant.prepare(
            history,
            message,
            summary=summary,
            platform=platform,
            model=model,
            instructions=instructions,
        )
        if generation == READ_NOW:
            generation = self.generation(owner)
        if self._cache is None or generation is None or fresh:
            return self._assistant.answer(prepared, owner=owner, progress=progress)
        computed: list[Reply] = []

        def compute() -> Computed:
            reply = self._assistant.answer(prepared, owner=owner, progress=progress)
            computed.append(reply)
            return Computed(_encode(reply), self._reply_ttl_s(reply))

        cached = self._cache.get_or_compute(
            answer_key("reply", owner=owner, basis=prepared.basis, generation=generation),
            kind="reply",
            compute=compute,
        )
        if computed and cached.outcome in (CacheOutcome.MISS, CacheOutcome.BYPASS):
            return computed[0]
        reply = _decode(cached.value)
        messages = tuple(
            replace(m, calls=tuple(c.as_cached() for c in m.calls)) for m in reply.messages
        )
        reused = Reply(reply.content, messages, Usage(), None, reply.tools_used, model=reply.model)
        self._on_cached(reused.calls)
        if progress is not None:
            _replay(reply.content, progress)
        return reused

    def title(
        self,
        owner: str,
        first_message: str,
        *,
        platform: str = "",
        generation: int | None = READ_NOW,
        model: str = "",
    ) -> Title:
        """Returns a title for a conversation starting with `first_message`, with its call."""
        prepared = self._assistant.prepare_title(first_message, platform=platform, model=model)
        if generation == READ_NOW:
            generation = self.generation(owner)
        if self._cache is None or generation is None:
            return self._assistant.answer_title(prepared)
        computed: list[Title] = []

        def compute() -> Computed:
            title = self._assistant.answer_title(prepared)
            computed.append(title)
            return Computed(_encode_title(title), self._ttl_s)

        cached = self._cache.get_or_compute(
            answer_key("title", owner=owner, basis=prepared.basis, generation=generation),
            kind="title",
            compute=compute,
        )
        if computed and cached.outcome in (CacheOutcome.MISS, CacheOutcome.BYPASS):
            return computed[0]
        title = _decode_title(cached.value)
        if title.call is None:
            return title
        call = title.call.as_cached()
        self._on_cached([call])
        return Title(title.text, call)

    def _reply_ttl_s(self, reply: Reply) -> float | None:
        if reply.summary is not None or reply.tools_failed:
            return None
        return self._volatility.reply_ttl_s(reply.tools_used, max_ttl_s=self._ttl_s)


def _replay(text: str, progress: TurnProgress) -> None:
    """Streams a reused answer's text in pieces that end at a space where one is near."""
    start = 0
    while start < len(text):
        end = min(start + REPLAY_CHUNK_CHARS, len(text))
        space = text.rfind(" ", start + 1, end)
        if end < len(text) and space > start:
            end = space + 1
        progress.text(text[start:end])
        start = end


def _encode(reply: Reply) -> str:
    usage = {"input_tokens": reply.usage.input_tokens, "output_tokens": reply.usage.output_tokens}
    return json.dumps(
        {
            "content": reply.content,
            "messages": [_message_json(m) for m in reply.messages],
            "usage": usage,
            "tools_used": list(reply.tools_used),
            "model": reply.model,
        }
    )


def _decode(value: str) -> Reply:
    data = json.loads(value)
    usage = Usage(int(data["usage"]["input_tokens"]), int(data["usage"]["output_tokens"]))
    messages = tuple(_message(m) for m in data["messages"])
    tools_used = tuple(map(str, data["tools_used"]))
    return Reply(
        str(data["content"]), messages, usage, None, tools_used, model=data.get("model", "")
    )


def _encode_title(title: Title) -> str:
    return json.dumps({"title": title.text, "call": title.call and title.call.to_json()})


def _decode_title(value: str) -> Title:
    """Reads `_encode_title`'s JSON; an entry cached as plain text (before titles carried
    their call) is the title itself."""
    try:
        data = json.loads(value)
    except ValueError:
        return Title(value)
    if not isinstance(data, dict) or "title" not in data:
        return Title(value)
    call = data.get("call")
    return Title(str(data["title"]), ModelCall.from_json(call) if call else None)


def _message_json(message: NewMessage) -> dict[str, Any]:
    return {
        "role": message.role.value,
        "content": message.content,
        "tool_calls": [[c.id, c.name, c.arguments] for c in message.tool_calls],
        "tool_call_id": message.tool_call_id,
        "tool_name": message.tool_name,
        "calls": [c.to_json() for c in message.calls],
        "model": message.model,
    }


def _message(data: dict[str, Any]) -> NewMessage:
    return NewMessage(
        Role(data["role"]),
        str(data["content"]),
        tool_calls=tuple(ToolCall(str(i), str(n), str(a)) for i, n, a in data["tool_calls"]),
        tool_call_id=str(data["tool_call_id"]),
        tool_name=str(data["tool_name"]),
        calls=tuple(ModelCall.from_json(c) for c in data.get("calls", ())),
        model=str(data.get("model", "")),
    )
