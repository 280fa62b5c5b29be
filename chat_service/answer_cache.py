"""CachedAnswers: the assistant's replies and titles through the response cache, per owner."""

from __future__ import annotations

import json
from collections.abc import Sequence

from chat_service.assistant import Assistant, Reply
from chat_service.cache_keys import answer_key
from chat_service.cache_stats import CacheOutcome
from chat_service.llm.base import Usage
from chat_service.models import NewMessage
from chat_service.response_cache import Computed, ResponseCache
from chat_service.tool_cache import ToolVolatility


class CachedAnswers:
    """Answers like the assistant, reusing an earlier answer to the very same question.

    A reply is keyed by the owner and everything the assistant would send the model
    (`Assistant.reply_basis`); it is cached for `ttl_s`, or less when it used tools (the
    smallest of their TTLs), or not at all when one of its tools is never cached. A reply
    from the cache cost nothing, so its usage is zero. With no cache, every call reaches
    the assistant.
    """

    def __init__(
        self,
        assistant: Assistant,
        cache: ResponseCache | None,
        *,
        ttl_s: float,
        volatility: ToolVolatility | None = None,
    ) -> None:
        self._assistant = assistant
        self._cache = cache if ttl_s > 0 else None
        self._ttl_s = ttl_s
        self._volatility = volatility or ToolVolatility()

    def reply(self, owner: str, history: Sequence[NewMessage]) -> Reply:
        """Returns the reply to the last message of `history`; raises as Assistant.reply."""
        if self._cache is None:
            return self._assistant.reply(history)

        def compute() -> Computed:
            reply = self._assistant.reply(history)
            ttl = self._volatility.reply_ttl_s(reply.tools_used, max_ttl_s=self._ttl_s)
            return Computed(_encode(reply), ttl)

        key = answer_key("reply", owner=owner, basis=self._assistant.reply_basis(history))
        cached = self._cache.get_or_compute(key, kind="reply", compute=compute)
        reply = _decode(cached.value)
        if cached.outcome is CacheOutcome.MISS or cached.outcome is CacheOutcome.BYPASS:
            return reply
        return Reply(reply.content, Usage(), reply.tools_used)

    def title(self, owner: str, first_message: str) -> str:
        """Returns a title for a conversation starting with `first_message`."""
        if self._cache is None:
            return self._assistant.title(first_message)
        key = answer_key("title", owner=owner, basis=self._assistant.title_basis(first_message))
        cached = self._cache.get_or_compute(
            key,
            kind="title",
            compute=lambda: Computed(self._assistant.title(first_message), self._ttl_s),
        )
        return cached.value


def _encode(reply: Reply) -> str:
    usage = {"input_tokens": reply.usage.input_tokens, "output_tokens": reply.usage.output_tokens}
    return json.dumps(
        {"content": reply.content, "usage": usage, "tools_used": list(reply.tools_used)}
    )


def _decode(value: str) -> Reply:
    data = json.loads(value)
    usage = Usage(int(data["usage"]["input_tokens"]), int(data["usage"]["output_tokens"]))
    return Reply(str(data["content"]), usage, tuple(str(t) for t in data["tools_used"]))
