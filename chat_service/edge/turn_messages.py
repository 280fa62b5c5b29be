"""Protobuf of the turns: requests to the use cases' commands, results to responses (shared by
the unary handlers and the stream endpoints)."""

from __future__ import annotations

from chat_service.core.models import (
    ContinuedConversation,
    ContinueTurn,
    SessionInfo,
    StartedConversation,
    StartTurn,
)
from chat_service.core.usage import ModelCall, UsageTotals
from gen.acai.chat import chat_pb2 as pb


def start_command(
    owner: str, key_id: str, request: pb.StartConversationRequest, turn_id: str
) -> StartTurn:
    """Returns the use case's command for a StartConversation request."""
    return StartTurn(
        owner=owner,
        message=request.message,
        session=session_info(request.session_metadata),
        idempotency_key=request.idempotency_key,
        key_id=key_id,
        turn_id=turn_id,
        model=request.model,
        instructions=request.instructions,
    )


def continue_command(
    owner: str, key_id: str, request: pb.ContinueConversationRequest, turn_id: str
) -> ContinueTurn:
    """Returns the use case's command for a ContinueConversation request."""
    return ContinueTurn(
        owner=owner,
        conversation_id=request.conversation_id,
        message=request.message,
        session=session_info(request.session_metadata),
        idempotency_key=request.idempotency_key,
        key_id=key_id,
        turn_id=turn_id,
    )


def start_response(started: StartedConversation, turn_id: str) -> pb.StartConversationResponse:
    """Returns the StartConversation response of a turn's result."""
    return pb.StartConversationResponse(
        conversation_id=started.conversation_id,
        title=started.title,
        reply=started.reply,
        usage=message_usage(started.usage),
        turn_id=turn_id,
    )


def continue_response(
    continued: ContinuedConversation, turn_id: str
) -> pb.ContinueConversationResponse:
    """Returns the ContinueConversation response of a turn's result."""
    return pb.ContinueConversationResponse(
        reply=continued.reply,
        conversation_id=continued.conversation_id,
        new_conversation=continued.new_conversation,
        title=continued.title,
        usage=message_usage(continued.usage),
        turn_id=turn_id,
    )


def regenerate_response(revised: ContinuedConversation, turn_id: str) -> pb.RegenerateReplyResponse:
    """Returns the RegenerateReply response of a turn's result."""
    return pb.RegenerateReplyResponse(
        reply=revised.reply,
        conversation_id=revised.conversation_id,
        usage=message_usage(revised.usage),
        turn_id=turn_id,
    )


def edit_response(revised: ContinuedConversation, turn_id: str) -> pb.EditLastMessageResponse:
    """Returns the EditLastMessage response of a turn's result."""
    return pb.EditLastMessageResponse(
        reply=revised.reply,
        conversation_id=revised.conversation_id,
        usage=message_usage(revised.usage),
        turn_id=turn_id,
    )


def session_info(meta: pb.SessionMetadata) -> SessionInfo:
    """Returns the domain session of a request's session_metadata."""
    return SessionInfo(meta.platform, meta.user_id, meta.chat_id)


def message_usage(usage: UsageTotals) -> pb.MessageUsage:
    """Returns the proto of a message's or a turn's usage."""
    return pb.MessageUsage(
        provider=usage.provider,
        model=usage.model,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cost_usd=usage.cost_usd,
        latency_ms=usage.latency_ms,
        cached=usage.cached,
        calls=[_call(c) for c in usage.calls],
    )


def _call(call: ModelCall) -> pb.ModelCall:
    return pb.ModelCall(
        operation=call.operation,
        provider=call.provider,
        model=call.model,
        input_tokens=call.input_tokens,
        output_tokens=call.output_tokens,
        cost_usd=call.cost_usd,
        latency_ms=call.latency_ms,
        cached=call.cached,
    )
