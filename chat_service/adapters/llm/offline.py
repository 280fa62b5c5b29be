"""The built-in offline model: answers without a provider when no language model is configured."""

from __future__ import annotations

import re
from collections.abc import Sequence

from chat_service.adapters.llm.offline_answers import answer
from chat_service.adapters.llm.offline_intents import intent_of
from chat_service.adapters.llm.offline_titles import offline_title
from chat_service.core.prompts import clip, summary_source, title_source
from chat_service.ports.chat_model import (
    ChatMessage,
    Completion,
    PromptRole,
    TextSink,
    ToolCall,
    ToolSpec,
    Usage,
)

QUOTE_MAX_CHARS = 80
_WORDS = re.compile(r"\s*\S+|\s+")  # each word with the spaces before it

NOT_CONFIGURED = (
    "No language model is configured, so this is the service's built-in offline reply. "
    "To get real answers, set OPENAI_API_KEY or ANTHROPIC_API_KEY (or OPENAI_BASE_URL for an "
    "OpenAI-compatible server such as vLLM, llama.cpp or Ollama) and restart the service. "
    "Until then, direct questions about the date and time, public holidays or the weather are "
    "still answered from the tools."
)


class OfflineChatModel:
    """A ChatModel that needs nothing: a pure function of its input, with zero usage.

    Direct weather, date-and-time and holiday questions get a call to the matching tool
    (when it is offered), then an answer worded from the tool's result, or saying the tool
    failed. Anything else gets a reply saying that no model is configured and how to
    configure one, quoting the user's last message. Title and summary prompts get the
    first words of their text. With `on_text` it streams the answer word by word, at once
    (there is nothing to wait for). It never raises, other than what `on_text` raises.
    """

    @property
    def name(self) -> str:
        """Always "offline"."""
        return "offline"

    def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        tools: Sequence[ToolSpec] = (),
        max_tokens: int = 1024,
        on_text: TextSink | None = None,
    ) -> Completion:
        """Returns the offline answer to `messages`; `max_tokens` is ignored."""
        completion = self._answer(messages, tools)
        if on_text is not None:
            for piece in _WORDS.findall(completion.content):
                on_text(piece)
        return completion

    def _answer(self, messages: Sequence[ChatMessage], tools: Sequence[ToolSpec]) -> Completion:
        source = title_source(messages)
        if source is not None:
            return self._completion(offline_title(source))
        transcript = summary_source(messages)
        if transcript is not None:
            return self._completion(_quote(transcript.replace("Transcript:", "").strip()))
        if messages and messages[-1].role is PromptRole.TOOL:
            return self._completion(_answer_from_tools(messages))
        if messages and messages[-1].role is PromptRole.USER:
            intent = intent_of(messages[-1].content, frozenset(t.name for t in tools))
            if intent is not None:
                call = ToolCall(f"offline_{len(messages)}", intent.tool, intent.arguments_json())
                return Completion(
                    content="",
                    tool_calls=(call,),
                    usage=Usage(),
                    model=self.name,
                    provider="offline",
                )
        last_user = next((m.content for m in reversed(messages) if m.role is PromptRole.USER), "")
        quote = _quote(last_user)
        if not quote:
            return self._completion(NOT_CONFIGURED)
        return self._completion(f"You said: “{quote}”\n\n{NOT_CONFIGURED}")

    def _completion(self, content: str) -> Completion:
        return Completion(content=content, usage=Usage(), model=self.name, provider="offline")


def _answer_from_tools(messages: Sequence[ChatMessage]) -> str:
    """Words the results after the last tool-calling step."""
    steps = [i for i, m in enumerate(messages) if m.tool_calls]
    step = steps[-1] if steps else -1
    names = {c.id: c.name for c in messages[step].tool_calls} if steps else {}
    results = [m for m in messages[step + 1 :] if m.role is PromptRole.TOOL]
    return "\n\n".join(answer(names.get(m.tool_call_id, "unknown"), m.content) for m in results)


def _quote(text: str) -> str:
    collapsed = " ".join(text.split())
    quoted = clip(collapsed, QUOTE_MAX_CHARS)
    return quoted if quoted == collapsed else f"{quoted}…"
