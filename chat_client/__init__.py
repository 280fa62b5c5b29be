"""The Python SDK of the chat service: `ChatClient` (sync) and `AsyncChatClient` (asyncio).

from chat_client import ChatClient, TextDelta

with ChatClient("http://127.0.0.1:8080", api_key="...") as client:
    started = client.start_conversation("Plan a weekend in Lisbon")
    print(client.continue_conversation(started.conversation_id, "And Sunday?").reply)
    with client.stream_continue(started.conversation_id, "And Monday?") as stream:
        for event in stream:
            if isinstance(event, TextDelta):
                print(event.text, end="", flush=True)
"""

from chat_client.async_client import AsyncChatClient
from chat_client.async_turn_stream import AsyncTurnStream
from chat_client.client import ChatClient
from chat_client.errors import (
    Aborted,
    AlreadyExists,
    BadRoute,
    Canceled,
    ChatClientError,
    ConnectionFailed,
    DataLoss,
    DeadlineExceeded,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    Malformed,
    NotFound,
    OutOfRange,
    PermissionDenied,
    ResourceExhausted,
    TimedOut,
    TransportError,
    TwirpError,
    Unauthenticated,
    Unavailable,
    Unimplemented,
    Unknown,
)
from chat_client.results import (
    Conversation,
    ConversationDetail,
    ConversationPage,
    DailyUsage,
    Health,
    Message,
    ModelInfo,
    ModelUsage,
    Reply,
    SessionMetadata,
    StartedConversation,
    ToolCall,
    TurnCancellation,
    UsageReport,
    UsageTotals,
)
from chat_client.retry import RetryPolicy
from chat_client.turn_events import (
    TextDelta,
    TitleReady,
    ToolCallFinished,
    ToolCallStarted,
    TurnCancelled,
    TurnCompleted,
    TurnEvent,
    TurnFailed,
    TurnStarted,
)
from chat_client.turn_progress import StreamBroken
from chat_client.turn_stream import TurnStream

__all__ = [
    "Aborted",
    "AlreadyExists",
    "AsyncChatClient",
    "AsyncTurnStream",
    "BadRoute",
    "Canceled",
    "ChatClient",
    "ChatClientError",
    "ConnectionFailed",
    "Conversation",
    "ConversationDetail",
    "ConversationPage",
    "DailyUsage",
    "DataLoss",
    "DeadlineExceeded",
    "FailedPrecondition",
    "Health",
    "Internal",
    "InvalidArgument",
    "Malformed",
    "Message",
    "ModelInfo",
    "ModelUsage",
    "NotFound",
    "OutOfRange",
    "PermissionDenied",
    "Reply",
    "ResourceExhausted",
    "RetryPolicy",
    "SessionMetadata",
    "StartedConversation",
    "StreamBroken",
    "TextDelta",
    "TimedOut",
    "TitleReady",
    "ToolCall",
    "ToolCallFinished",
    "ToolCallStarted",
    "TransportError",
    "TurnCancellation",
    "TurnCancelled",
    "TurnCompleted",
    "TurnEvent",
    "TurnFailed",
    "TurnStarted",
    "TurnStream",
    "TwirpError",
    "Unauthenticated",
    "Unavailable",
    "Unimplemented",
    "Unknown",
    "UsageReport",
    "UsageTotals",
]
