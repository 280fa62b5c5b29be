"""The domain's error vocabulary; the Twirp edge maps each class to a Twirp code."""

from __future__ import annotations

from datetime import datetime


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


class BudgetExceeded(ChatError):
    """A budget would be exceeded by the turn's next model call: the call was not made and the
    turn stored nothing. `budget` is "owner" or "key", `period` "daily" or "monthly";
    `spent_usd` counts the calls in flight at their worst case; `resets_at` is when the period
    ends (UTC)."""

    def __init__(
        self, *, budget: str, period: str, limit_usd: float, spent_usd: float, resets_at: datetime
    ) -> None:
        super().__init__(
            f"the {period} budget of this {'API key' if budget == 'key' else 'owner'} "
            f"({limit_usd:.2f} USD) is spent; it resets at {resets_at:%Y-%m-%dT%H:%M:%SZ}"
        )
        self.budget = budget
        self.period = period
        self.limit_usd = limit_usd
        self.spent_usd = spent_usd
        self.resets_at = resets_at


class BudgetUnavailable(Unavailable):
    """The spend of a budgeted owner or key cannot be checked now (Redis is down): the turn
    is refused rather than let past its budget."""


class TurnCancelled(ChatError):
    """A streamed turn was stopped by CancelTurn.

    Raised by the turn's event sink to stop the provider's stream; once the turn has stored
    what the user saw, it is raised again with the conversation's id and that text.
    """

    def __init__(self, *, conversation_id: str = "", partial_text: str = "") -> None:
        super().__init__("the turn was cancelled")
        self.conversation_id = conversation_id
        self.partial_text = partial_text


class TurnNotFound(ChatError):
    """No streamed turn with that id (or running on that conversation) is visible to the caller."""

    def __init__(self) -> None:
        super().__init__("turn not found")
