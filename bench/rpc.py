"""The two ChatService calls the benchmarks make, over Twirp JSON."""

from __future__ import annotations

from typing import Any

import httpx2

ROUTE = "/twirp/acai.chat.ChatService/"


class RpcError(RuntimeError):
    """A call answered something other than HTTP 200."""


def _checked(method: str, response: httpx2.Response) -> dict[str, Any]:
    if response.status_code != 200:
        raise RpcError(f"{method}: HTTP {response.status_code} {response.text[:200]}")
    body: dict[str, Any] = response.json()
    return body


async def start_async(client: httpx2.AsyncClient, message: str) -> str:
    """StartConversation; returns the new conversation's id."""
    method = "StartConversation"
    response = await client.post(ROUTE + method, json={"message": message})
    return str(_checked(method, response)["conversation_id"])


async def continue_async(client: httpx2.AsyncClient, conversation_id: str, message: str) -> str:
    """ContinueConversation; returns the reply."""
    method = "ContinueConversation"
    body = {"conversation_id": conversation_id, "message": message}
    response = await client.post(ROUTE + method, json=body)
    return str(_checked(method, response)["reply"])


def continue_sync(client: httpx2.Client, conversation_id: str, message: str) -> str:
    """ContinueConversation; returns the reply."""
    method = "ContinueConversation"
    body = {"conversation_id": conversation_id, "message": message}
    response = client.post(ROUTE + method, json=body)
    return str(_checked(method, response)["reply"])
