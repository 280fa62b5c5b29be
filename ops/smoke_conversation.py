"""The smoke test's conversation: Start, Continue, Describe, List, Delete through one wire format.

`Transport` is a Twirp call: the generated client for protobuf, a JSON caller built on the
generated message types for JSON. Each step checks what a client relies on and raises
SmokeFailure with what it saw otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol, TypeVar

import requests
from google.protobuf import json_format
from google.protobuf.message import Message
from twirp.context import Context
from twirp.exceptions import TwirpServerException

from gen.acai.chat import chat_pb2 as pb
from gen.acai.chat.chat_twirp import ChatServiceClient

SERVICE = "acai.chat.ChatService"
DELETE = "DeleteConversation"
FIRST_MESSAGE = "Smoke test: please answer with a short greeting."
SECOND_MESSAGE = "Smoke test: and one more short sentence, please."

_Response = TypeVar("_Response", bound=Message)
Step = Callable[[], str]


class Transport(Protocol):
    """Calls one ChatService method with `request`; returns a `response_type` or raises
    SmokeFailure."""

    def __call__(self, method: str, request: Message, response_type: type[_Response]) -> _Response:
        """Returns the method's response."""
        ...


class SmokeFailure(Exception):
    """A step saw something other than what a client relies on."""


def protobuf_transport(
    base_url: str, *, prefix: str, headers: Mapping[str, str], timeout_s: float
) -> Transport:
    """Returns calls through the generated Twirp client (application/protobuf)."""
    client = ChatServiceClient(base_url, timeout=timeout_s)

    def call(method: str, request: Message, response_type: type[_Response]) -> _Response:
        try:
            response: _Response = getattr(client, method)(
                ctx=Context(headers=dict(headers)), request=request, server_path_prefix=prefix
            )
        except TwirpServerException as exc:
            raise SmokeFailure(f"twirp error {exc.code.value}: {exc.message}") from exc
        return response

    return call


def json_transport(
    base_url: str,
    *,
    prefix: str,
    headers: Mapping[str, str],
    timeout_s: float,
    session: requests.Session,
) -> Transport:
    """Returns calls that post the generated messages as Twirp JSON (application/json)."""

    def call(method: str, request: Message, response_type: type[_Response]) -> _Response:
        url = f"{base_url}{prefix}/{SERVICE}/{method}"
        body = json_format.MessageToDict(request, preserving_proto_field_name=True)
        try:
            reply = session.post(url, json=body, headers=dict(headers), timeout=timeout_s)
        except requests.RequestException as exc:
            raise SmokeFailure(f"no answer: {exc}") from exc
        if reply.headers.get("Content-Type", "").split(";")[0] != "application/json":
            raise SmokeFailure(
                f"HTTP {reply.status_code}, Content-Type {reply.headers.get('Content-Type')!r}"
            )
        if reply.status_code != 200:
            error = reply.json()
            raise SmokeFailure(f"twirp error {error.get('code')}: {error.get('msg')}")
        return json_format.ParseDict(reply.json(), response_type(), ignore_unknown_fields=True)

    return call


def conversation_steps(
    call: Transport, made: list[str], *, keep: bool = False
) -> list[tuple[str, Step]]:
    """Returns the named steps of one conversation; each returns a short detail or raises.

    The id of the conversation Start made is appended to `made`. The last step,
    DeleteConversation, deletes it again (the smoke test leaves nothing behind) and checks it
    is gone; with `keep` there is no such step.
    """
    started = pb.StartConversationResponse()

    def start() -> str:
        request = pb.StartConversationRequest(
            message=FIRST_MESSAGE,
            session_metadata=pb.SessionMetadata(platform="api", user_id="smoke-test"),
        )
        started.CopyFrom(call("StartConversation", request, pb.StartConversationResponse))
        if started.conversation_id:
            made.append(started.conversation_id)
        _expect(len(started.conversation_id) == 24, f"conversation_id {started.conversation_id!r}")
        _expect(bool(started.title.strip()), "empty title")
        _expect(bool(started.reply.strip()), "empty reply")
        return f"id {started.conversation_id}, reply {len(started.reply)} chars"

    def continue_() -> str:
        request = pb.ContinueConversationRequest(
            conversation_id=started.conversation_id, message=SECOND_MESSAGE
        )
        reply = call("ContinueConversation", request, pb.ContinueConversationResponse).reply
        _expect(bool(reply.strip()), "empty reply")
        return f"reply {len(reply)} chars"

    def describe() -> str:
        request = pb.DescribeConversationRequest(
            conversation_id=started.conversation_id, page_size=100
        )
        conversation = call(
            "DescribeConversation", request, pb.DescribeConversationResponse
        ).conversation
        roles = [message.role for message in conversation.messages]
        users = [m.content for m in conversation.messages if m.role == pb.Conversation.USER]
        _expect(conversation.id == started.conversation_id, f"id {conversation.id!r}")
        _expect(users == [FIRST_MESSAGE, SECOND_MESSAGE], f"{len(users)} user messages")
        _expect(roles[-1] == pb.Conversation.ASSISTANT, "last message is not the reply")
        _expect(roles.count(pb.Conversation.ASSISTANT) >= 2, "fewer than two replies")
        return f"{len(roles)} messages, title {conversation.title!r}"

    def list_() -> str:
        request = pb.ListConversationsRequest(page_size=100)
        listed = call("ListConversations", request, pb.ListConversationsResponse).conversations
        ids = [conversation.id for conversation in listed]
        _expect(started.conversation_id in ids, "new conversation not on the first page")
        _expect(all(not c.messages for c in listed), "listed conversations carry messages")
        return f"{len(ids)} on the first page, new one included"

    def delete() -> str:
        request = pb.DeleteConversationRequest(conversation_id=started.conversation_id)
        deleted = call("DeleteConversation", request, pb.DeleteConversationResponse).deleted
        _expect(deleted, "deleted is false: it was gone already")
        describe = pb.DescribeConversationRequest(conversation_id=started.conversation_id)
        try:
            call("DescribeConversation", describe, pb.DescribeConversationResponse)
        except SmokeFailure as failure:
            _expect("not_found" in str(failure), f"Describe after the delete: {failure}")
            return "deleted; Describe answers not_found"
        raise SmokeFailure("Describe still finds it after the delete")

    steps = [
        ("StartConversation", start),
        ("ContinueConversation", continue_),
        ("DescribeConversation", describe),
        ("ListConversations", list_),
    ]
    return steps if keep else [*steps, (DELETE, delete)]


def _expect(condition: bool, seen: str) -> None:
    if not condition:
        raise SmokeFailure(seen)
