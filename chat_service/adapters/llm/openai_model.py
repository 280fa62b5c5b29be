"""ChatModel adapter for OpenAI's Chat Completions API and OpenAI-compatible servers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import openai
import orjson
from openai.types.chat import (
    ChatCompletion,
    ChatCompletionFunctionToolParam,
    ChatCompletionMessageFunctionToolCallParam,
    ChatCompletionMessageParam,
)

from chat_service.adapters.llm.openai_stream import StreamedCompletion, release, whole_completion
from chat_service.adapters.llm.provider_errors import safe_detail, status_error
from chat_service.ports.chat_model import (
    ChatMessage,
    Completion,
    ModelRejected,
    ModelUnavailable,
    PromptRole,
    TextSink,
    ToolSpec,
)

OPENAI_BASE_URL = "https://api.openai.com/v1"
TokenLimitParam = Literal["max_tokens", "max_completion_tokens"]

# Statuses the provider uses for "not now" rather than "not this request" (the SDK's own
# retry list): request timeout, lock conflict, rate limit and server errors.
_EMPTY_OBJECT_SCHEMA: dict[str, object] = {"type": "object", "properties": {}}


def openai_client(*, api_key: str, base_url: str | None, timeout_s: float) -> openai.OpenAI:
    """Returns an SDK client for `base_url` (default: OpenAI) with SDK retries disabled.

    Retries belong to our own layer; letting the SDK retry too would multiply attempts.
    The base URL is passed explicitly so the SDK never reads OPENAI_BASE_URL behind Settings.
    """
    return openai.OpenAI(
        api_key=api_key,
        base_url=base_url or OPENAI_BASE_URL,
        timeout=timeout_s,
        max_retries=0,
    )


class OpenAIChatModel:
    """A ChatModel backed by the Chat Completions API (`POST /chat/completions`).

    With `on_text` the request asks for `stream: true` (with usage in the last chunk) and
    each text delta goes to `on_text` as it arrives; without, the answer comes whole.

    `token_limit_param` names the field that carries `max_tokens`: "max_tokens" (default)
    is what every OpenAI-compatible server (vLLM, llama.cpp, Ollama) and OpenAI's
    non-reasoning models accept; OpenAI's reasoning models need "max_completion_tokens".
    """

    def __init__(
        self,
        client: openai.OpenAI,
        *,
        model: str,
        token_limit_param: TokenLimitParam = "max_tokens",
    ) -> None:
        self._client = client
        self._model = model
        self._token_limit_param: TokenLimitParam = token_limit_param

    @property
    def name(self) -> str:
        """Returns "openai:<model>", e.g. "openai:gpt-4o-mini"."""
        return f"openai:{self._model}"

    def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        tools: Sequence[ToolSpec] = (),
        max_tokens: int = 1024,
        on_text: TextSink | None = None,
    ) -> Completion:
        """Returns the provider's completion of `messages`, streaming its text to `on_text`.

        Raises ModelUnavailable when the provider cannot be reached, times out, is rate
        limited, fails (5xx), answers without a choice, or its stream breaks (an error
        chunk, a cut connection, no finish reason); ModelRejected when it refuses the
        request (other 4xx). The SDK's exception is kept as `__cause__`; messages never
        contain the API key. An exception from `on_text` closes the response (nothing more
        is read) and propagates unchanged.
        """
        body: dict[str, object] = {
            "model": self._model,
            "messages": [wire_message(m) for m in messages],
            self._token_limit_param: max_tokens,
        }
        if tools:
            body["tools"] = [wire_tool(t) for t in tools]
        if on_text is not None:
            return self._stream(body, on_text)
        try:
            # The SDK's documented low-level call: `chat.completions.create` re-validates
            # every message against its TypedDicts (~0.1 ms of CPU per message), which made
            # a turn's cost grow with its history; the body here is already well-formed.
            # `cast_to=object` gives the answer's JSON: building the typed ChatCompletion
            # cost ~160 µs of CPU per call, a fifth of the call's.
            # The body goes as orjson's bytes: the SDK's json.dumps of a long history cost
            # ~0.25 ms of CPU per call.
            response = self._client.post(
                "/chat/completions", content=orjson.dumps(body), cast_to=object
            )
        except openai.APIError as exc:
            raise self._error(exc) from exc
        return whole_completion(response, model=self._model, provider=self.name)

    def _stream(self, body: dict[str, object], on_text: TextSink) -> Completion:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
        try:
            # `Stream[object]` yields each chunk's JSON object (see StreamedCompletion).
            stream = self._client.post(
                "/chat/completions",
                content=orjson.dumps(body),
                cast_to=ChatCompletion,
                stream=True,
                stream_cls=openai.Stream[object],
            )
        except openai.APIError as exc:
            raise self._error(exc) from exc
        answer = StreamedCompletion(model=self._model)
        # Leaving the block closes the response: after an exception from `on_text` (a
        # cancelled turn) not one more chunk is read.
        with stream:
            while not answer.ended:
                try:
                    chunk = next(stream, None)
                except openai.APIError as exc:
                    raise self._error(exc, streaming=True) from exc
                except ValueError as exc:  # a chunk that is not JSON
                    raise ModelUnavailable(f"{self.name} sent an unusable stream") from exc
                if chunk is None:
                    break
                text = answer.add(chunk)
                if text:
                    on_text(text)
            if answer.ended:
                release(stream.response)
        return answer.completion(self.name)

    def _error(
        self, exc: openai.APIError, *, streaming: bool = False
    ) -> ModelUnavailable | ModelRejected:
        if isinstance(exc, openai.APIConnectionError):  # includes APITimeoutError
            if isinstance(exc, openai.APITimeoutError):
                return ModelUnavailable(f"{self.name} timed out")
            cut = "cut its stream off" if streaming else "is unreachable"
            return ModelUnavailable(f"{self.name} {cut}")
        if isinstance(exc, openai.APIStatusError):
            answer = exc.body
            message = answer.get("message") if isinstance(answer, dict) else None
            detail = safe_detail(message, api_key=self._client.api_key)
            return status_error(self.name, exc.status_code, detail, exc.response.headers)
        if streaming:  # an error chunk after the stream began
            answer = exc.body
            message = answer.get("message") if isinstance(answer, dict) else exc.message
            detail = safe_detail(message, api_key=self._client.api_key)
            return ModelUnavailable(f"{self.name} failed mid-stream{detail}")
        # e.g. a response body that is not a completion
        return ModelUnavailable(f"{self.name} sent an unusable response")


def wire_message(message: ChatMessage) -> ChatCompletionMessageParam:
    """Returns the Chat Completions form of `message`."""
    if message.role is PromptRole.SYSTEM:
        return {"role": "system", "content": message.content}
    if message.role is PromptRole.USER:
        return {"role": "user", "content": message.content}
    if message.role is PromptRole.TOOL:
        return {"role": "tool", "content": message.content, "tool_call_id": message.tool_call_id}
    if not message.tool_calls:
        return {"role": "assistant", "content": message.content}
    calls: list[ChatCompletionMessageFunctionToolCallParam] = [
        {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
        for c in message.tool_calls
    ]
    # null content next to tool calls is the form the API itself returns.
    return {"role": "assistant", "content": message.content or None, "tool_calls": calls}


def wire_tool(tool: ToolSpec) -> ChatCompletionFunctionToolParam:
    """Returns the Chat Completions function-tool definition of `tool`."""
    # Some compatible servers reject a function without a parameters schema.
    parameters = dict(tool.parameters) if tool.parameters else _EMPTY_OBJECT_SCHEMA
    return {
        "type": "function",
        "function": {"name": tool.name, "description": tool.description, "parameters": parameters},
    }
