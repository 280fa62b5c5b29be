"""Twirp error rows that need a misbehaving handler: the edge under uvicorn with a test service."""

from __future__ import annotations

import logging

import anyio
import pytest
import requests

from chat_service.edge.twirp import TwirpEdge, TwirpError
from gen.acai.chat import chat_pb2 as pb
from gen.acai.chat.chat_twirp import ChatServiceServer
from tests.fakes.uvicorn_thread import serve


class SecretFailure(Exception):
    pass


class MisbehavingHandlers:
    """Each method fails in a different way."""

    def StartConversation(self, ctx, request):
        raise SecretFailure("db password is hunter2")

    def ContinueConversation(self, ctx, request):
        raise TwirpError("not_a_real_code", "whatever")

    def ListConversations(self, ctx, request):
        return pb.StartConversationResponse()  # the wrong type

    def DescribeConversation(self, ctx, request):
        raise TwirpError("permission_denied", "no", {"why": "testing"})

    def EndSession(self, ctx, request):
        raise SecretFailure("not called by these tests")

    def DeleteConversation(self, ctx, request):
        raise SecretFailure("not called by these tests")

    def UpdateConversation(self, ctx, request):
        raise SecretFailure("not called by these tests")

    def GetUsage(self, ctx, request):
        raise SecretFailure("not called by these tests")

    def CancelTurn(self, ctx, request):
        raise SecretFailure("not called by these tests")

    def ListModels(self, ctx, request):
        raise SecretFailure("not called by these tests")

    def RegenerateReply(self, ctx, request):
        raise SecretFailure("not called by these tests")

    def EditLastMessage(self, ctx, request):
        raise SecretFailure("not called by these tests")

    def GetDefaultInstructions(self, ctx, request):
        raise SecretFailure("not called by these tests")

    def SetDefaultInstructions(self, ctx, request):
        raise SecretFailure("not called by these tests")


@pytest.fixture(scope="module")
def base_url():
    edge = TwirpEdge(max_body_bytes=1024, limiter=anyio.CapacityLimiter(4))
    edge.add_service(ChatServiceServer(service=MisbehavingHandlers()))
    with serve(edge) as url:
        yield url + "/twirp/acai.chat.ChatService/"


def _post(url: str, body: bytes = b"{}", content_type: str = "application/json"):
    return requests.post(url, data=body, headers={"Content-Type": content_type}, timeout=10)


@pytest.mark.parametrize("content_type", ["application/json", "application/protobuf"])
def test_unexpected_exception_is_internal_and_hides_its_text(base_url, caplog, content_type):
    caplog.set_level(logging.ERROR, logger="chat_service.edge.twirp")
    body = b"{}" if content_type == "application/json" else b""
    response = _post(base_url + "StartConversation", body, content_type)
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"code": "internal", "msg": "internal error"}
    assert "hunter2" not in response.text
    logged = [r for r in caplog.records if r.exc_info]
    assert logged, "the exception is logged with its traceback"
    assert logged[0].exc_info[0] is SecretFailure


def test_error_with_an_invalid_code_becomes_internal(base_url):
    response = _post(base_url + "ContinueConversation")
    assert response.status_code == 500
    assert response.json() == {"code": "internal", "msg": "internal error"}


def test_handler_returning_the_wrong_type_is_internal(base_url):
    response = _post(base_url + "ListConversations")
    assert response.status_code == 500
    assert response.json()["code"] == "internal"


def test_twirp_error_from_a_handler_keeps_code_msg_and_meta(base_url):
    response = _post(base_url + "DescribeConversation")
    assert response.status_code == 403
    assert response.json() == {"code": "permission_denied", "msg": "no", "meta": {"why": "testing"}}
