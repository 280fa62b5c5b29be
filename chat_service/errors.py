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
    """No language model could answer."""


class TurnAborted(ChatError):
    """The turn could not run or commit because of another turn on the same conversation;
    nothing was stored and the client may retry."""


class TurnBusy(TurnAborted):
    """Another turn held the conversation for longer than the bounded wait."""

    def __init__(self) -> None:
        super().__init__("another turn of this conversation is in progress; retry later")


class TurnConflict(TurnAborted):
    """The conversation changed after this turn read it (its lock was lost meanwhile)."""

    def __init__(self) -> None:
        super().__init__("the conversation changed during this turn; retry")
