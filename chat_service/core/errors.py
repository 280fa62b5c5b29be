"""The domain's error vocabulary; the Twirp edge maps each class to a Twirp code."""

from __future__ import annotations


class ChatError(Exception):
    """Base of every error the service reports to clients on purpose."""


class InvalidRequest(ChatError):
    """A request field breaks its rule; `argument` names the field."""

    def __init__(self, argument: str, message: str) -> None:
        super().__init__(message)
        self.argument = argument


class ConversationNotFound(ChatError):
    """No conversation with that id is visible to the caller."""

    def __init__(self, conversation_id: str) -> None:
        super().__init__("conversation not found")
        self.conversation_id = conversation_id


class Unavailable(ChatError):
    """A dependency the request needs is down; retrying later may work."""


class StorageUnavailable(Unavailable):
    """The database cannot be reached."""


class ModelUnavailable(Unavailable):
    """No language model could answer.

    `retry_after_s` is the provider's Retry-After hint in seconds, when it sent one.
    """

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ToolLoopAborted(ChatError):
    """The assistant gave up on a turn before answering; nothing was stored.

    `reason` is a stable machine-readable code ("tool_rounds_exhausted",
    "repeated_tool_call").
    """

    reason = "tool_loop_aborted"


class ToolRoundsExhausted(ToolLoopAborted):
    """The model still asked for tools after the last allowed round."""

    reason = "tool_rounds_exhausted"

    def __init__(self, max_rounds: int) -> None:
        super().__init__(f"the assistant did not answer within {max_rounds} rounds of tool calls")
        self.max_rounds = max_rounds


class RepeatedToolCall(ToolLoopAborted):
    """The model asked again for a tool call it had already made in this turn."""

    reason = "repeated_tool_call"

    def __init__(self, tool_name: str) -> None:
        super().__init__(f"the assistant repeated an identical call to the tool {tool_name!r}")
        self.tool_name = tool_name


class TurnAborted(ChatError):
    """The turn could not run or commit because of another turn or write on the same
    conversation; nothing was stored and the client may retry. `reason` is a stable
    machine-readable code.
    """

    reason = "turn_aborted"


class TurnBusy(TurnAborted):
    """Another turn held the conversation for longer than the bounded wait."""

    reason = "turn_busy"

    def __init__(self) -> None:
        super().__init__("another turn of this conversation is in progress; retry later")


class TurnConflict(TurnAborted):
    """The conversation changed after this turn read it (its lock was lost meanwhile)."""

    reason = "turn_conflict"

    def __init__(self) -> None:
        super().__init__("the conversation changed during this turn; retry")


class WriteConflict(TurnAborted):
    """The database answered, but another transaction kept writing the same documents until
    this one's deadline passed."""

    reason = "write_conflict"

    def __init__(self) -> None:
        super().__init__("the conversation is busy with another write; retry")
