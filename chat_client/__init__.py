"""The Python SDK of the chat service: `ChatClient` (sync) and `AsyncChatClient` (asyncio).

from chat_client import ChatClient

with ChatClient("http://127.0.0.1:8080", api_key="...") as client:
    started = client.start_conversation("Plan a weekend in Lisbon")
    print(client.continue_conversation(started.conversation_id, "And Sunday?").reply)
"""

from chat_client.async_client import AsyncChatClient
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
    ModelUsage,
    Reply,
    SessionMetadata,
    StartedConversation,
    ToolCall,
    UsageReport,
    UsageTotals,
)
from chat_client.retry import RetryPolicy

__all__ = [
    "Aborted",
    "AlreadyExists",
    "AsyncChatClient",
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
    "ModelUsage",
    "NotFound",
    "OutOfRange",
    "PermissionDenied",
    "Reply",
    "ResourceExhausted",
    "RetryPolicy",
    "SessionMetadata",
    "StartedConversation",
    "TimedOut",
    "ToolCall",
    "TransportError",
    "TwirpError",
    "Unauthenticated",
    "Unavailable",
    "Unimplemented",
    "Unknown",
    "UsageReport",
    "UsageTotals",
]
