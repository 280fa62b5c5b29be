"""The built-in offline model: answers without a provider when no language model is configured."""

from __future__ import annotations

from collections.abc import Sequence

from chat_service.llm.base import ChatMessage, Completion, PromptRole, ToolSpec, Usage
from chat_service.prompts import DEFAULT_TITLE, clean_title, clip, title_case, title_source

QUOTE_MAX_CHARS = 80
TITLE_WORDS = 6

NOT_CONFIGURED = (
    "No language model is configured, so this is the service's built-in offline reply. "
    "To get real answers, set OPENAI_API_KEY (and OPENAI_BASE_URL for an OpenAI-compatible "
    "server such as vLLM, llama.cpp or Ollama) and restart the service."
)


class OfflineChatModel:
    """A ChatModel that needs nothing: a pure function of its input, with zero usage.

    It says that no model is configured and how to configure one, quoting the user's last
    message so the round trip is visible. Asked for a title (a prompt built by
    `chat_service.prompts.title_prompt`), it answers with the first words of the message in
    Title Case. It never calls tools and never raises.
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
    ) -> Completion:
        """Returns the offline answer to `messages`; `tools` and `max_tokens` are ignored."""
        source = title_source(messages)
        if source is not None:
            return self._completion(offline_title(source))
        last_user = next((m.content for m in reversed(messages) if m.role is PromptRole.USER), "")
        quote = _quote(last_user)
        if not quote:
            return self._completion(NOT_CONFIGURED)
        return self._completion(f"You said: “{quote}”\n\n{NOT_CONFIGURED}")

    def _completion(self, content: str) -> Completion:
        return Completion(content=content, usage=Usage(), model=self.name)


def offline_title(message: str) -> str:
    """Returns a title made of the first TITLE_WORDS words of `message`, cleaned."""
    cleaned = clean_title(message)
    if cleaned == DEFAULT_TITLE:
        return cleaned
    return clean_title(title_case(" ".join(cleaned.split()[:TITLE_WORDS])))


def _quote(text: str) -> str:
    collapsed = " ".join(text.split())
    quoted = clip(collapsed, QUOTE_MAX_CHARS)
    return quoted if quoted == collapsed else f"{quoted}…"
