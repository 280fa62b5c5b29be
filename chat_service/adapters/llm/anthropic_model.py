"""ChatModel adapter for Anthropic's Messages API (official `anthropic` SDK)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, cast

import anthropic
import httpx2
from anthropic.types import Message as AnthropicMessage
from anthropic.types import MessageParam, RawMessageStreamEvent, ToolParam

from chat_service.adapters.llm.anthropic_stream import StreamedMessage
from chat_service.adapters.llm.provider_errors import safe_detail, status_error
from chat_service.ports.chat_model import (
    ChatMessage,
    Completion,
    ModelRejected,
    ModelUnavailable,
    PromptRole,
    TextSink,
    ToolCall,
    ToolSpec,
    Usage,
)

ANTHROPIC_BASE_URL = "https://api.anthropic.com"

# Request timeout, lock conflict, rate limit, and 5xx including Anthropic's 529 "overloaded".
_EMPTY_OBJECT_SCHEMA: dict[str, object] = {"type": "object", "properties": {}}


def anthropic_client(
    *, api_key: str, base_url: str | None, timeout_s: float
) -> anthropic.Anthropic:
    """Returns an SDK client for `base_url` (default: Anthropic) with SDK retries disabled."""
    return anthropic.Anthropic(
        api_key=api_key,
        base_url=base_url or ANTHROPIC_BASE_URL,
        timeout=timeout_s,
        max_retries=0,
    )


class AnthropicChatModel:
    """A ChatModel backed by `client.messages.create`, streaming (`stream=True`) when asked.

    System messages (the prompt and a conversation summary) become the `system`
    parameter; tool calls become `tool_use` blocks of the assistant and tool results
    `tool_result` blocks of the next user message, all results of one step in one message.
    """

    def __init__(self, client: anthropic.Anthropic, *, model: str) -> None:
        self._client = client
        self._model = model

    @property
    def name(self) -> str:
        """Returns "anthropic:<model>"."""
        return f"anthropic:{self._model}"

    def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        tools: Sequence[ToolSpec] = (),
        max_tokens: int = 1024,
        on_text: TextSink | None = None,
    ) -> Completion:
        """Returns the provider's completion of `messages`, streaming its text to `on_text`.

        Raises ModelUnavailable (unreachable, timeout, 408/409/429/5xx, with the
        Retry-After hint when sent; a stream broken by an `error` event, a cut connection
        or no `message_stop`) or ModelRejected (other 4xx); the SDK's exception is kept as
        `__cause__`; messages never contain the API key. An exception from `on_text` closes
        the response (nothing more is read) and propagates unchanged.
        """
        system, wire = wire_request(messages)
        if on_text is not None:
            return self._stream(system, wire, tools, max_tokens, on_text)
        try:
            response = self._client.messages.create(
                model=self._model,
                max_tokens=max_tokens,
                messages=cast("list[MessageParam]", wire),
                system=system if system else anthropic.omit,
                tools=[wire_tool(t) for t in tools] if tools else anthropic.omit,
            )
        except anthropic.APIError as exc:
            raise self._error(exc) from exc
        return self._completion(response)

    def _stream(
        self,
        system: str,
        wire: list[dict[str, Any]],
        tools: Sequence[ToolSpec],
        max_tokens: int,
        on_text: TextSink,
    ) -> Completion:
        try:
            stream = self._client.messages.create(
                model=self._model,
                max_tokens=max_tokens,
                messages=cast("list[MessageParam]", wire),
                system=system if system else anthropic.omit,
                tools=[wire_tool(t) for t in tools] if tools else anthropic.omit,
                stream=True,
            )
        except anthropic.APIError as exc:
            raise self._error(exc) from exc
        answer = StreamedMessage(model=self._model)
        # Leaving the block closes the response: after an exception from `on_text` (a
        # cancelled turn) not one more event is read.
        with stream:
            while True:
                try:
                    event: RawMessageStreamEvent | None = next(stream, None)
                except anthropic.APIError as exc:  # an `error` event, after a 200
                    raise self._error(exc, streaming=True) from exc
                # The SDK leaves transport errors of a stream's body unwrapped.
                except httpx2.TimeoutException as exc:
                    raise ModelUnavailable(f"{self.name} timed out") from exc
                except httpx2.TransportError as exc:
                    raise ModelUnavailable(f"{self.name} cut its stream off") from exc
                except ValueError as exc:  # an event that is not JSON
                    raise ModelUnavailable(f"{self.name} sent an unusable stream") from exc
                if event is None:
                    break
                text = answer.add(event)
                if text:
                    on_text(text)
        return answer.completion(self.name)

    def _error(
        self, exc: anthropic.APIError, *, streaming: bool = False
    ) -> ModelUnavailable | ModelRejected:
        if isinstance(exc, anthropic.APIConnectionError):  # includes APITimeoutError
            kind = "timed out" if isinstance(exc, anthropic.APITimeoutError) else "is unreachable"
            return ModelUnavailable(f"{self.name} {kind}")
        if isinstance(exc, anthropic.APIStatusError):
            body = exc.body
            error = body.get("error") if isinstance(body, dict) else None
            message = error.get("message") if isinstance(error, dict) else None
            detail = safe_detail(message, api_key=self._client.api_key)
            if streaming:  # the stream began with a 200: whatever broke it is transient
                return ModelUnavailable(f"{self.name} failed mid-stream{detail}")
            return status_error(self.name, exc.status_code, detail, exc.response.headers)
        return ModelUnavailable(f"{self.name} sent an unusable response")

    def _completion(self, response: AnthropicMessage) -> Completion:
        blocks = getattr(response, "content", None)
        if blocks is None:
            raise ModelUnavailable(f"{self.name} answered without content")
        text = "".join(b.text for b in blocks if b.type == "text")
        calls = tuple(
            ToolCall(id=b.id, name=b.name, arguments=json.dumps(b.input))
            for b in blocks
            if b.type == "tool_use"
        )
        usage = response.usage
        return Completion(
            content=text,
            tool_calls=calls,
            usage=Usage(usage.input_tokens or 0, usage.output_tokens or 0) if usage else Usage(),
            model=response.model or self._model,
            provider="anthropic",
        )


def wire_request(messages: Sequence[ChatMessage]) -> tuple[str, list[dict[str, Any]]]:
    """Returns (system text, Messages API messages as JSON-like dicts) for `messages`.

    Consecutive tool results are grouped into one user message, as the API requires
    every result of a step to follow the step's `tool_use` blocks at once.
    """
    system = "\n\n".join(m.content for m in messages if m.role is PromptRole.SYSTEM)
    wire: list[dict[str, Any]] = []
    for message in messages:
        if message.role is PromptRole.SYSTEM:
            continue
        if message.role is PromptRole.TOOL:
            block = {
                "type": "tool_result",
                "tool_use_id": message.tool_call_id,
                "content": message.content,
            }
            if wire and wire[-1]["role"] == "user" and _is_tool_results(wire[-1]):
                wire[-1]["content"].append(block)
            else:
                wire.append({"role": "user", "content": [block]})
        elif message.role is PromptRole.USER:
            wire.append({"role": "user", "content": message.content})
        else:
            wire.append({"role": "assistant", "content": _assistant_blocks(message)})
    return system, wire


def _is_tool_results(message: dict[str, Any]) -> bool:
    content = message["content"]
    return isinstance(content, list) and all(b.get("type") == "tool_result" for b in content)


def _assistant_blocks(message: ChatMessage) -> list[dict[str, Any]] | str:
    if not message.tool_calls:
        return message.content
    blocks: list[dict[str, Any]] = []
    if message.content.strip():
        blocks.append({"type": "text", "text": message.content})
    for call in message.tool_calls:
        blocks.append(
            {"type": "tool_use", "id": call.id, "name": call.name, "input": _input(call.arguments)}
        )
    return blocks


def _input(arguments: str) -> dict[str, Any]:
    # tool_use.input must be an object; a model's malformed JSON is kept visible as text.
    try:
        parsed = json.loads(arguments or "{}")
    except ValueError:
        return {"_unparsed_arguments": arguments}
    return parsed if isinstance(parsed, dict) else {"_arguments": parsed}


def wire_tool(tool: ToolSpec) -> ToolParam:
    """Returns the Messages API tool definition of `tool`."""
    schema = dict(tool.parameters) if tool.parameters else _EMPTY_OBJECT_SCHEMA
    return cast(
        "ToolParam", {"name": tool.name, "description": tool.description, "input_schema": schema}
    )
