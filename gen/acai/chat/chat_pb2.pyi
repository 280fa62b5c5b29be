import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MessageUsage(_message.Message):
    __slots__ = ("provider", "model", "input_tokens", "output_tokens", "cost_usd", "latency_ms", "cached", "calls")
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COST_USD_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    CACHED_FIELD_NUMBER: _ClassVar[int]
    CALLS_FIELD_NUMBER: _ClassVar[int]
    provider: str
    model: str
    input_tokens: int
    output_tokens: int
    cost_usd: float
    latency_ms: int
    cached: bool
    calls: _containers.RepeatedCompositeFieldContainer[ModelCall]
    def __init__(self, provider: _Optional[str] = ..., model: _Optional[str] = ..., input_tokens: _Optional[int] = ..., output_tokens: _Optional[int] = ..., cost_usd: _Optional[float] = ..., latency_ms: _Optional[int] = ..., cached: _Optional[bool] = ..., calls: _Optional[_Iterable[_Union[ModelCall, _Mapping]]] = ...) -> None: ...

class ModelCall(_message.Message):
    __slots__ = ("operation", "provider", "model", "input_tokens", "output_tokens", "cost_usd", "latency_ms", "cached")
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COST_USD_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    CACHED_FIELD_NUMBER: _ClassVar[int]
    operation: str
    provider: str
    model: str
    input_tokens: int
    output_tokens: int
    cost_usd: float
    latency_ms: int
    cached: bool
    def __init__(self, operation: _Optional[str] = ..., provider: _Optional[str] = ..., model: _Optional[str] = ..., input_tokens: _Optional[int] = ..., output_tokens: _Optional[int] = ..., cost_usd: _Optional[float] = ..., latency_ms: _Optional[int] = ..., cached: _Optional[bool] = ...) -> None: ...

class Conversation(_message.Message):
    __slots__ = ("id", "title", "timestamp", "messages", "model", "instructions")
    class Role(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        UNKNOWN: _ClassVar[Conversation.Role]
        USER: _ClassVar[Conversation.Role]
        ASSISTANT: _ClassVar[Conversation.Role]
        TOOL: _ClassVar[Conversation.Role]
    UNKNOWN: Conversation.Role
    USER: Conversation.Role
    ASSISTANT: Conversation.Role
    TOOL: Conversation.Role
    class ToolCall(_message.Message):
        __slots__ = ("id", "name", "arguments")
        ID_FIELD_NUMBER: _ClassVar[int]
        NAME_FIELD_NUMBER: _ClassVar[int]
        ARGUMENTS_FIELD_NUMBER: _ClassVar[int]
        id: str
        name: str
        arguments: str
        def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., arguments: _Optional[str] = ...) -> None: ...
    class Message(_message.Message):
        __slots__ = ("id", "role", "content", "timestamp", "tool_calls", "tool_call_id", "tool_name", "finish_reason", "usage", "inactive", "version", "alternative_of", "model")
        ID_FIELD_NUMBER: _ClassVar[int]
        ROLE_FIELD_NUMBER: _ClassVar[int]
        CONTENT_FIELD_NUMBER: _ClassVar[int]
        TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
        TOOL_CALLS_FIELD_NUMBER: _ClassVar[int]
        TOOL_CALL_ID_FIELD_NUMBER: _ClassVar[int]
        TOOL_NAME_FIELD_NUMBER: _ClassVar[int]
        FINISH_REASON_FIELD_NUMBER: _ClassVar[int]
        USAGE_FIELD_NUMBER: _ClassVar[int]
        INACTIVE_FIELD_NUMBER: _ClassVar[int]
        VERSION_FIELD_NUMBER: _ClassVar[int]
        ALTERNATIVE_OF_FIELD_NUMBER: _ClassVar[int]
        MODEL_FIELD_NUMBER: _ClassVar[int]
        id: str
        role: Conversation.Role
        content: str
        timestamp: _timestamp_pb2.Timestamp
        tool_calls: _containers.RepeatedCompositeFieldContainer[Conversation.ToolCall]
        tool_call_id: str
        tool_name: str
        finish_reason: str
        usage: MessageUsage
        inactive: bool
        version: int
        alternative_of: str
        model: str
        def __init__(self, id: _Optional[str] = ..., role: _Optional[_Union[Conversation.Role, str]] = ..., content: _Optional[str] = ..., timestamp: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., tool_calls: _Optional[_Iterable[_Union[Conversation.ToolCall, _Mapping]]] = ..., tool_call_id: _Optional[str] = ..., tool_name: _Optional[str] = ..., finish_reason: _Optional[str] = ..., usage: _Optional[_Union[MessageUsage, _Mapping]] = ..., inactive: _Optional[bool] = ..., version: _Optional[int] = ..., alternative_of: _Optional[str] = ..., model: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    INSTRUCTIONS_FIELD_NUMBER: _ClassVar[int]
    id: str
    title: str
    timestamp: _timestamp_pb2.Timestamp
    messages: _containers.RepeatedCompositeFieldContainer[Conversation.Message]
    model: str
    instructions: str
    def __init__(self, id: _Optional[str] = ..., title: _Optional[str] = ..., timestamp: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., messages: _Optional[_Iterable[_Union[Conversation.Message, _Mapping]]] = ..., model: _Optional[str] = ..., instructions: _Optional[str] = ...) -> None: ...

class StartConversationRequest(_message.Message):
    __slots__ = ("message", "session_metadata", "idempotency_key", "model", "instructions")
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    SESSION_METADATA_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    INSTRUCTIONS_FIELD_NUMBER: _ClassVar[int]
    message: str
    session_metadata: SessionMetadata
    idempotency_key: str
    model: str
    instructions: str
    def __init__(self, message: _Optional[str] = ..., session_metadata: _Optional[_Union[SessionMetadata, _Mapping]] = ..., idempotency_key: _Optional[str] = ..., model: _Optional[str] = ..., instructions: _Optional[str] = ...) -> None: ...

class SessionMetadata(_message.Message):
    __slots__ = ("platform", "user_id", "chat_id")
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    platform: str
    user_id: str
    chat_id: str
    def __init__(self, platform: _Optional[str] = ..., user_id: _Optional[str] = ..., chat_id: _Optional[str] = ...) -> None: ...

class StartConversationResponse(_message.Message):
    __slots__ = ("conversation_id", "title", "reply", "usage", "turn_id")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    REPLY_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    TURN_ID_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    title: str
    reply: str
    usage: MessageUsage
    turn_id: str
    def __init__(self, conversation_id: _Optional[str] = ..., title: _Optional[str] = ..., reply: _Optional[str] = ..., usage: _Optional[_Union[MessageUsage, _Mapping]] = ..., turn_id: _Optional[str] = ...) -> None: ...

class ContinueConversationRequest(_message.Message):
    __slots__ = ("conversation_id", "message", "session_metadata", "idempotency_key")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    SESSION_METADATA_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    message: str
    session_metadata: SessionMetadata
    idempotency_key: str
    def __init__(self, conversation_id: _Optional[str] = ..., message: _Optional[str] = ..., session_metadata: _Optional[_Union[SessionMetadata, _Mapping]] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class ContinueConversationResponse(_message.Message):
    __slots__ = ("reply", "conversation_id", "new_conversation", "title", "usage", "turn_id")
    REPLY_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    NEW_CONVERSATION_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    TURN_ID_FIELD_NUMBER: _ClassVar[int]
    reply: str
    conversation_id: str
    new_conversation: bool
    title: str
    usage: MessageUsage
    turn_id: str
    def __init__(self, reply: _Optional[str] = ..., conversation_id: _Optional[str] = ..., new_conversation: _Optional[bool] = ..., title: _Optional[str] = ..., usage: _Optional[_Union[MessageUsage, _Mapping]] = ..., turn_id: _Optional[str] = ...) -> None: ...

class EndSessionRequest(_message.Message):
    __slots__ = ("session_metadata",)
    SESSION_METADATA_FIELD_NUMBER: _ClassVar[int]
    session_metadata: SessionMetadata
    def __init__(self, session_metadata: _Optional[_Union[SessionMetadata, _Mapping]] = ...) -> None: ...

class EndSessionResponse(_message.Message):
    __slots__ = ("conversation_id",)
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    def __init__(self, conversation_id: _Optional[str] = ...) -> None: ...

class ListConversationsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListConversationsResponse(_message.Message):
    __slots__ = ("conversations", "next_page_token")
    CONVERSATIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    conversations: _containers.RepeatedCompositeFieldContainer[Conversation]
    next_page_token: str
    def __init__(self, conversations: _Optional[_Iterable[_Union[Conversation, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DescribeConversationRequest(_message.Message):
    __slots__ = ("conversation_id", "page_size", "page_token")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    page_size: int
    page_token: str
    def __init__(self, conversation_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class DescribeConversationResponse(_message.Message):
    __slots__ = ("conversation", "next_page_token")
    CONVERSATION_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    conversation: Conversation
    next_page_token: str
    def __init__(self, conversation: _Optional[_Union[Conversation, _Mapping]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DeleteConversationRequest(_message.Message):
    __slots__ = ("conversation_id",)
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    def __init__(self, conversation_id: _Optional[str] = ...) -> None: ...

class DeleteConversationResponse(_message.Message):
    __slots__ = ("deleted",)
    DELETED_FIELD_NUMBER: _ClassVar[int]
    deleted: bool
    def __init__(self, deleted: _Optional[bool] = ...) -> None: ...

class UpdateConversationRequest(_message.Message):
    __slots__ = ("conversation_id", "title", "model", "instructions")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    INSTRUCTIONS_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    title: str
    model: str
    instructions: str
    def __init__(self, conversation_id: _Optional[str] = ..., title: _Optional[str] = ..., model: _Optional[str] = ..., instructions: _Optional[str] = ...) -> None: ...

class UpdateConversationResponse(_message.Message):
    __slots__ = ("conversation",)
    CONVERSATION_FIELD_NUMBER: _ClassVar[int]
    conversation: Conversation
    def __init__(self, conversation: _Optional[_Union[Conversation, _Mapping]] = ...) -> None: ...

class GetUsageRequest(_message.Message):
    __slots__ = ("start_date", "end_date")
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    start_date: str
    end_date: str
    def __init__(self, start_date: _Optional[str] = ..., end_date: _Optional[str] = ...) -> None: ...

class UsageTotals(_message.Message):
    __slots__ = ("input_tokens", "output_tokens", "cost_usd", "turns", "cached_turns", "calls")
    INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COST_USD_FIELD_NUMBER: _ClassVar[int]
    TURNS_FIELD_NUMBER: _ClassVar[int]
    CACHED_TURNS_FIELD_NUMBER: _ClassVar[int]
    CALLS_FIELD_NUMBER: _ClassVar[int]
    input_tokens: int
    output_tokens: int
    cost_usd: float
    turns: int
    cached_turns: int
    calls: int
    def __init__(self, input_tokens: _Optional[int] = ..., output_tokens: _Optional[int] = ..., cost_usd: _Optional[float] = ..., turns: _Optional[int] = ..., cached_turns: _Optional[int] = ..., calls: _Optional[int] = ...) -> None: ...

class ModelUsageTotals(_message.Message):
    __slots__ = ("provider", "model", "totals")
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    provider: str
    model: str
    totals: UsageTotals
    def __init__(self, provider: _Optional[str] = ..., model: _Optional[str] = ..., totals: _Optional[_Union[UsageTotals, _Mapping]] = ...) -> None: ...

class DailyUsage(_message.Message):
    __slots__ = ("date", "totals", "models")
    DATE_FIELD_NUMBER: _ClassVar[int]
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    date: str
    totals: UsageTotals
    models: _containers.RepeatedCompositeFieldContainer[ModelUsageTotals]
    def __init__(self, date: _Optional[str] = ..., totals: _Optional[_Union[UsageTotals, _Mapping]] = ..., models: _Optional[_Iterable[_Union[ModelUsageTotals, _Mapping]]] = ...) -> None: ...

class GetUsageResponse(_message.Message):
    __slots__ = ("start_date", "end_date", "total", "days", "models")
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    DAYS_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    start_date: str
    end_date: str
    total: UsageTotals
    days: _containers.RepeatedCompositeFieldContainer[DailyUsage]
    models: _containers.RepeatedCompositeFieldContainer[ModelUsageTotals]
    def __init__(self, start_date: _Optional[str] = ..., end_date: _Optional[str] = ..., total: _Optional[_Union[UsageTotals, _Mapping]] = ..., days: _Optional[_Iterable[_Union[DailyUsage, _Mapping]]] = ..., models: _Optional[_Iterable[_Union[ModelUsageTotals, _Mapping]]] = ...) -> None: ...

class CancelTurnRequest(_message.Message):
    __slots__ = ("turn_id", "conversation_id")
    TURN_ID_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    turn_id: str
    conversation_id: str
    def __init__(self, turn_id: _Optional[str] = ..., conversation_id: _Optional[str] = ...) -> None: ...

class CancelTurnResponse(_message.Message):
    __slots__ = ("cancelled", "turn_id")
    CANCELLED_FIELD_NUMBER: _ClassVar[int]
    TURN_ID_FIELD_NUMBER: _ClassVar[int]
    cancelled: bool
    turn_id: str
    def __init__(self, cancelled: _Optional[bool] = ..., turn_id: _Optional[str] = ...) -> None: ...

class TurnEvent(_message.Message):
    __slots__ = ("seq", "turn_id", "started", "title", "delta", "tool_call_started", "tool_call_finished", "completed", "failed", "cancelled")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    TURN_ID_FIELD_NUMBER: _ClassVar[int]
    STARTED_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    TOOL_CALL_STARTED_FIELD_NUMBER: _ClassVar[int]
    TOOL_CALL_FINISHED_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_FIELD_NUMBER: _ClassVar[int]
    seq: int
    turn_id: str
    started: TurnStarted
    title: TitleReady
    delta: TextDelta
    tool_call_started: ToolCallStarted
    tool_call_finished: ToolCallFinished
    completed: TurnCompleted
    failed: TurnFailed
    cancelled: TurnCancelled
    def __init__(self, seq: _Optional[int] = ..., turn_id: _Optional[str] = ..., started: _Optional[_Union[TurnStarted, _Mapping]] = ..., title: _Optional[_Union[TitleReady, _Mapping]] = ..., delta: _Optional[_Union[TextDelta, _Mapping]] = ..., tool_call_started: _Optional[_Union[ToolCallStarted, _Mapping]] = ..., tool_call_finished: _Optional[_Union[ToolCallFinished, _Mapping]] = ..., completed: _Optional[_Union[TurnCompleted, _Mapping]] = ..., failed: _Optional[_Union[TurnFailed, _Mapping]] = ..., cancelled: _Optional[_Union[TurnCancelled, _Mapping]] = ...) -> None: ...

class TurnStarted(_message.Message):
    __slots__ = ("conversation_id", "new_conversation", "title")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    NEW_CONVERSATION_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    new_conversation: bool
    title: str
    def __init__(self, conversation_id: _Optional[str] = ..., new_conversation: _Optional[bool] = ..., title: _Optional[str] = ...) -> None: ...

class TitleReady(_message.Message):
    __slots__ = ("title",)
    TITLE_FIELD_NUMBER: _ClassVar[int]
    title: str
    def __init__(self, title: _Optional[str] = ...) -> None: ...

class TextDelta(_message.Message):
    __slots__ = ("text",)
    TEXT_FIELD_NUMBER: _ClassVar[int]
    text: str
    def __init__(self, text: _Optional[str] = ...) -> None: ...

class ToolCallStarted(_message.Message):
    __slots__ = ("id", "name", "arguments")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ARGUMENTS_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    arguments: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., arguments: _Optional[str] = ...) -> None: ...

class ToolCallFinished(_message.Message):
    __slots__ = ("id", "name", "ok", "error")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    OK_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    ok: bool
    error: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., ok: _Optional[bool] = ..., error: _Optional[str] = ...) -> None: ...

class TurnCompleted(_message.Message):
    __slots__ = ("start", "regenerate", "edit")
    START_FIELD_NUMBER: _ClassVar[int]
    CONTINUE_FIELD_NUMBER: _ClassVar[int]
    REGENERATE_FIELD_NUMBER: _ClassVar[int]
    EDIT_FIELD_NUMBER: _ClassVar[int]
    start: StartConversationResponse
    regenerate: RegenerateReplyResponse
    edit: EditLastMessageResponse
    def __init__(self, start: _Optional[_Union[StartConversationResponse, _Mapping]] = ..., regenerate: _Optional[_Union[RegenerateReplyResponse, _Mapping]] = ..., edit: _Optional[_Union[EditLastMessageResponse, _Mapping]] = ..., **kwargs) -> None: ...

class TurnFailed(_message.Message):
    __slots__ = ("code", "msg", "meta")
    class MetaEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CODE_FIELD_NUMBER: _ClassVar[int]
    MSG_FIELD_NUMBER: _ClassVar[int]
    META_FIELD_NUMBER: _ClassVar[int]
    code: str
    msg: str
    meta: _containers.ScalarMap[str, str]
    def __init__(self, code: _Optional[str] = ..., msg: _Optional[str] = ..., meta: _Optional[_Mapping[str, str]] = ...) -> None: ...

class TurnCancelled(_message.Message):
    __slots__ = ("conversation_id", "partial_text")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    PARTIAL_TEXT_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    partial_text: str
    def __init__(self, conversation_id: _Optional[str] = ..., partial_text: _Optional[str] = ...) -> None: ...

class ListModelsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ModelInfo(_message.Message):
    __slots__ = ("id", "display_name", "provider", "is_default", "priced", "input_usd_per_million", "output_usd_per_million")
    ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    IS_DEFAULT_FIELD_NUMBER: _ClassVar[int]
    PRICED_FIELD_NUMBER: _ClassVar[int]
    INPUT_USD_PER_MILLION_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_USD_PER_MILLION_FIELD_NUMBER: _ClassVar[int]
    id: str
    display_name: str
    provider: str
    is_default: bool
    priced: bool
    input_usd_per_million: float
    output_usd_per_million: float
    def __init__(self, id: _Optional[str] = ..., display_name: _Optional[str] = ..., provider: _Optional[str] = ..., is_default: _Optional[bool] = ..., priced: _Optional[bool] = ..., input_usd_per_million: _Optional[float] = ..., output_usd_per_million: _Optional[float] = ...) -> None: ...

class ListModelsResponse(_message.Message):
    __slots__ = ("models",)
    MODELS_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[ModelInfo]
    def __init__(self, models: _Optional[_Iterable[_Union[ModelInfo, _Mapping]]] = ...) -> None: ...

class RegenerateReplyRequest(_message.Message):
    __slots__ = ("conversation_id", "idempotency_key")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    idempotency_key: str
    def __init__(self, conversation_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class RegenerateReplyResponse(_message.Message):
    __slots__ = ("reply", "conversation_id", "usage", "turn_id")
    REPLY_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    TURN_ID_FIELD_NUMBER: _ClassVar[int]
    reply: str
    conversation_id: str
    usage: MessageUsage
    turn_id: str
    def __init__(self, reply: _Optional[str] = ..., conversation_id: _Optional[str] = ..., usage: _Optional[_Union[MessageUsage, _Mapping]] = ..., turn_id: _Optional[str] = ...) -> None: ...

class EditLastMessageRequest(_message.Message):
    __slots__ = ("conversation_id", "message", "idempotency_key")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    message: str
    idempotency_key: str
    def __init__(self, conversation_id: _Optional[str] = ..., message: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class EditLastMessageResponse(_message.Message):
    __slots__ = ("reply", "conversation_id", "usage", "turn_id")
    REPLY_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    TURN_ID_FIELD_NUMBER: _ClassVar[int]
    reply: str
    conversation_id: str
    usage: MessageUsage
    turn_id: str
    def __init__(self, reply: _Optional[str] = ..., conversation_id: _Optional[str] = ..., usage: _Optional[_Union[MessageUsage, _Mapping]] = ..., turn_id: _Optional[str] = ...) -> None: ...

class GetDefaultInstructionsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DefaultInstructions(_message.Message):
    __slots__ = ("instructions",)
    INSTRUCTIONS_FIELD_NUMBER: _ClassVar[int]
    instructions: str
    def __init__(self, instructions: _Optional[str] = ...) -> None: ...
