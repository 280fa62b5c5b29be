"""The ChatService handlers: protobuf in, domain commands to the use cases, protobuf out.

This is the only module besides the generated code that sees protobuf types.
"""

from __future__ import annotations

from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp
from twirp.context import Context

from chat_service.core.chat import Chat
from chat_service.core.errors import (
    BudgetExceeded,
    ChatError,
    ConversationNotFound,
    InvalidRequest,
    ToolLoopAborted,
    TurnAborted,
    TurnNotFound,
    Unavailable,
)
from chat_service.core.model_catalog import ModelOption
from chat_service.core.models import (
    Conversation,
    Message,
    Role,
)
from chat_service.core.turn_control import TurnControl
from chat_service.core.turn_events import idempotent_turn_id, new_turn_id
from chat_service.core.usage_report import ModelUsage, UsageSum
from chat_service.edge.turn_messages import (
    continue_command,
    continue_response,
    edit_response,
    message_usage,
    regenerate_response,
    session_info,
    start_command,
    start_response,
)
from chat_service.edge.twirp import TwirpError
from chat_service.ports.chat_model import ModelRejected
from gen.acai.chat import chat_pb2 as pb

ANONYMOUS_OWNER = "anonymous"
OWNER_KEY = "owner"
KEY_ID_KEY = "key_id"

_ROLES = {
    Role.USER: pb.Conversation.USER,
    Role.ASSISTANT: pb.Conversation.ASSISTANT,
    Role.TOOL: pb.Conversation.TOOL,
}

# Most specific class first: the first match wins.
_CODES: tuple[tuple[type[ChatError], str], ...] = (
    (InvalidRequest, "invalid_argument"),
    (ConversationNotFound, "not_found"),
    (TurnNotFound, "not_found"),
    (ModelRejected, "failed_precondition"),
    # A budget is spent: nothing was asked of the model, nothing stored; wait for its reset.
    (BudgetExceeded, "resource_exhausted"),
    # The turn was given up, nothing stored: not the client's input, not a down dependency.
    (ToolLoopAborted, "aborted"),
    (TurnAborted, "aborted"),
    (Unavailable, "unavailable"),
)


def twirp_error_for(exc: Exception) -> TwirpError | None:
    """Returns the Twirp error for a domain error, or None for anything unexpected."""
    for error_type, code in _CODES:
        if isinstance(exc, error_type):
            meta = {"argument": exc.argument} if isinstance(exc, InvalidRequest) else {}
            if isinstance(exc, ToolLoopAborted | TurnAborted):
                meta = {"reason": exc.reason}
            if isinstance(exc, BudgetExceeded):
                meta = _budget_meta(exc)
            return TwirpError(code, str(exc), meta)
    return None


def _budget_meta(exc: BudgetExceeded) -> dict[str, str]:
    return {
        "reason": "budget_exceeded",
        "budget": exc.budget,
        "period": exc.period,
        "limit_usd": f"{exc.limit_usd:.6f}".rstrip("0").rstrip("."),
        "spent_usd": f"{exc.spent_usd:.6f}".rstrip("0").rstrip("."),
        "resets_at": exc.resets_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


class ChatServiceHandlers:
    """Implements acai.chat.ChatService on top of the chat use cases."""

    def __init__(self, chat: Chat, turns: TurnControl) -> None:
        self._chat = chat
        self._turns = turns

    def StartConversation(
        self, ctx: Context, request: pb.StartConversationRequest
    ) -> pb.StartConversationResponse:
        turn_id = _turn_id(ctx, "StartConversation", request.idempotency_key)
        started = self._chat.start(start_command(_owner(ctx), _key_id(ctx), request, turn_id))
        return start_response(started, turn_id)

    def ContinueConversation(
        self, ctx: Context, request: pb.ContinueConversationRequest
    ) -> pb.ContinueConversationResponse:
        turn_id = _turn_id(ctx, "ContinueConversation", request.idempotency_key)
        continued = self._chat.continue_turn(
            continue_command(_owner(ctx), _key_id(ctx), request, turn_id)
        )
        return continue_response(continued, turn_id)

    def CancelTurn(self, ctx: Context, request: pb.CancelTurnRequest) -> pb.CancelTurnResponse:
        outcome = self._turns.cancel(
            owner=_owner(ctx), turn_id=request.turn_id, conversation_id=request.conversation_id
        )
        return pb.CancelTurnResponse(cancelled=outcome.cancelled, turn_id=outcome.turn_id)

    def ListConversations(
        self, ctx: Context, request: pb.ListConversationsRequest
    ) -> pb.ListConversationsResponse:
        page = self._chat.list_conversations(
            owner=_owner(ctx), page_size=request.page_size, page_token=request.page_token
        )
        return pb.ListConversationsResponse(
            conversations=[_conversation(c, ()) for c in page.conversations],
            next_page_token=page.next_token,
        )

    def DescribeConversation(
        self, ctx: Context, request: pb.DescribeConversationRequest
    ) -> pb.DescribeConversationResponse:
        detail = self._chat.describe(
            owner=_owner(ctx),
            conversation_id=request.conversation_id,
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return pb.DescribeConversationResponse(
            conversation=_conversation(detail.conversation, detail.messages.messages),
            next_page_token=detail.messages.next_token,
        )

    def EndSession(self, ctx: Context, request: pb.EndSessionRequest) -> pb.EndSessionResponse:
        ended = self._chat.end_session(
            owner=_owner(ctx), session=session_info(request.session_metadata)
        )
        return pb.EndSessionResponse(conversation_id=ended)

    def DeleteConversation(
        self, ctx: Context, request: pb.DeleteConversationRequest
    ) -> pb.DeleteConversationResponse:
        deleted = self._chat.delete(owner=_owner(ctx), conversation_id=request.conversation_id)
        return pb.DeleteConversationResponse(deleted=deleted)

    def UpdateConversation(
        self, ctx: Context, request: pb.UpdateConversationRequest
    ) -> pb.UpdateConversationResponse:
        conversation = self._chat.settings.update(
            owner=_owner(ctx),
            conversation_id=request.conversation_id,
            title=request.title,
            model=request.model if request.HasField("model") else None,
            instructions=request.instructions if request.HasField("instructions") else None,
        )
        return pb.UpdateConversationResponse(conversation=_conversation(conversation, ()))

    def GetUsage(self, ctx: Context, request: pb.GetUsageRequest) -> pb.GetUsageResponse:
        report = self._chat.usage(
            owner=_owner(ctx), start_date=request.start_date, end_date=request.end_date
        )
        return pb.GetUsageResponse(
            start_date=report.first_day.isoformat(),
            end_date=report.last_day.isoformat(),
            total=_totals(report.total),
            days=[
                pb.DailyUsage(
                    date=day.day.isoformat(),
                    totals=_totals(day.usage),
                    models=[_model_totals(m) for m in day.models],
                )
                for day in report.days
            ],
            models=[_model_totals(m) for m in report.models],
        )

    def ListModels(self, ctx: Context, request: pb.ListModelsRequest) -> pb.ListModelsResponse:
        options = self._chat.settings.list_models()
        return pb.ListModelsResponse(
            models=[_model_info(option, default=i == 0) for i, option in enumerate(options)]
        )

    def RegenerateReply(
        self, ctx: Context, request: pb.RegenerateReplyRequest
    ) -> pb.RegenerateReplyResponse:
        turn_id = _turn_id(ctx, "RegenerateReply", request.idempotency_key)
        turn = self._chat.regenerate(
            owner=_owner(ctx),
            conversation_id=request.conversation_id,
            idempotency_key=request.idempotency_key,
            key_id=_key_id(ctx),
            turn_id=turn_id,
        )
        return regenerate_response(turn, turn_id)

    def EditLastMessage(
        self, ctx: Context, request: pb.EditLastMessageRequest
    ) -> pb.EditLastMessageResponse:
        turn_id = _turn_id(ctx, "EditLastMessage", request.idempotency_key)
        turn = self._chat.edit_last(
            owner=_owner(ctx),
            conversation_id=request.conversation_id,
            message=request.message,
            idempotency_key=request.idempotency_key,
            key_id=_key_id(ctx),
            turn_id=turn_id,
        )
        return edit_response(turn, turn_id)

    def GetDefaultInstructions(
        self, ctx: Context, request: pb.GetDefaultInstructionsRequest
    ) -> pb.DefaultInstructions:
        return pb.DefaultInstructions(
            instructions=self._chat.settings.default_instructions(owner=_owner(ctx))
        )

    def SetDefaultInstructions(
        self, ctx: Context, request: pb.DefaultInstructions
    ) -> pb.DefaultInstructions:
        stored = self._chat.settings.set_default_instructions(
            owner=_owner(ctx), instructions=request.instructions
        )
        return pb.DefaultInstructions(instructions=stored)


def _totals(usage: UsageSum) -> pb.UsageTotals:
    return pb.UsageTotals(
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cost_usd=usage.cost_usd,
        turns=usage.turns,
        cached_turns=usage.cached_turns,
        calls=usage.calls,
    )


def _model_totals(usage: ModelUsage) -> pb.ModelUsageTotals:
    return pb.ModelUsageTotals(
        provider=usage.provider, model=usage.model, totals=_totals(usage.usage)
    )


def _turn_id(ctx: Context, method: str, idempotency_key: str) -> str:
    if idempotency_key:
        return idempotent_turn_id(_owner(ctx), method, idempotency_key)
    return new_turn_id()


def _key_id(ctx: Context) -> str:
    try:
        return str(ctx.get(KEY_ID_KEY) or "")
    except KeyError:
        return ""


def owner_of(ctx_state: dict[str, object]) -> str:
    """Returns the authenticated owner in a request's state (the open service's otherwise)."""
    owner = ctx_state.get(OWNER_KEY)
    return ANONYMOUS_OWNER if owner is None else str(owner)


def _owner(ctx: Context) -> str:
    try:
        return str(ctx.get(OWNER_KEY))
    except KeyError:
        return ANONYMOUS_OWNER


def _timestamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def _conversation(conversation: Conversation, messages: tuple[Message, ...]) -> pb.Conversation:
    return pb.Conversation(
        id=conversation.id,
        title=conversation.title,
        timestamp=_timestamp(conversation.updated_at),
        messages=[_message(m) for m in messages],
        model=conversation.model,
        instructions=conversation.instructions,
    )


def _model_info(option: ModelOption, *, default: bool) -> pb.ModelInfo:
    priced = option.input_price is not None and option.output_price is not None
    return pb.ModelInfo(
        id=option.id,
        display_name=option.display_name,
        provider=option.provider,
        is_default=default,
        priced=priced,
        input_usd_per_million=option.input_price or 0.0,
        output_usd_per_million=option.output_price or 0.0,
    )


def _message(message: Message) -> pb.Conversation.Message:
    return pb.Conversation.Message(
        id=message.id,
        role=_ROLES[message.role],
        content=message.content,
        timestamp=_timestamp(message.created_at),
        tool_calls=[
            pb.Conversation.ToolCall(id=c.id, name=c.name, arguments=c.arguments)
            for c in message.tool_calls
        ],
        tool_call_id=message.tool_call_id,
        tool_name=message.tool_name,
        usage=message_usage(message.usage) if message.calls else None,
        finish_reason=message.finish_reason,
        inactive=message.inactive,
        version=message.version,
        alternative_of=message.alternative_of,
        model=message.model,
    )
