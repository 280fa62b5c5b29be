"""Every RPC's reads and writes on a sharded collection carry its shard key, so a sharded
cluster sends each to one shard (never to all of them); the owner-wide ones name the owner.

pymongo's command monitoring sees each command the app sends while the generated Twirp client
calls every RPC. The test prints the statements per RPC (collection, operation, filter keys):
run it with `-s` to read them.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pymongo
import pytest
from pymongo import monitoring
from twirp.context import Context
from twirp.exceptions import TwirpServerException

import migrations
from chat_service.adapters.mongo.budgets import MongoBudgetStore
from chat_service.composition.app import create_app
from chat_service.config import Secret, Settings
from chat_service.ports.budgets import Budget, BudgetScope
from gen.acai.chat import chat_pb2 as pb
from gen.acai.chat.chat_twirp import ChatServiceClient
from ops.shard import SHARD_KEYS, ShardKey
from tests import canaries
from tests.fakes.uvicorn_thread import serve

KEYS = {shard_key.collection: shard_key for shard_key in SHARD_KEYS}
ONE_SHARD, OWNER_WIDE, SCATTER = "one shard", "owner's chunks", "every shard"
# The only statements allowed to name just the owner (the shard key's prefix): listing the
# owner's conversations, and deleting what names a conversation among the owner's records.
OWNER_WIDE_ALLOWED = {
    ("ListConversations", "conversations", "find"),
    ("GetUsage", "usage", "find"),
    # A budget's spending so far: the owner's records of the day and the month.
    ("StartConversation", "usage", "find"),
    ("ContinueConversation", "usage", "find"),
    ("DeleteConversation", "sessions", "delete"),
    ("DeleteConversation", "idempotency_keys", "delete"),
}
SESSION = pb.SessionMetadata(platform="telegram", user_id="u1", chat_id="c1")


@dataclass(frozen=True)
class Statement:
    """One read or write as the server sees it."""

    rpc: str
    collection: str
    operation: str
    keys: tuple[str, ...]  # the filter's fields; an insert's document fields of the shard key
    targets: str  # ONE_SHARD, OWNER_WIDE or SCATTER on a sharded cluster; "" if unsharded

    def __str__(self) -> str:
        where = f" -> {self.targets}" if self.targets else " (not sharded)"
        return f"{self.collection:<22} {self.operation:<8} {{{', '.join(self.keys)}}}{where}"


class Recorder(monitoring.CommandListener):
    """Records the statements sent to one database, under the name of the RPC running."""

    def __init__(self, database: str) -> None:
        self.database = database
        self.rpc = ""
        self.statements: list[Statement] = []
        self._lock = threading.Lock()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.database_name != self.database or not self.rpc:
            return
        found = [
            _statement(self.rpc, collection, operation, document)
            for collection, operation, document in _parts(event.command_name, event.command)
        ]
        with self._lock:
            self.statements += found

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def _parts(name: str, command: Mapping[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(collection, operation, filter or inserted document) of each statement of a command."""
    if name == "find":
        yield command["find"], "find", command.get("filter", {})
    elif name == "insert":
        for document in command["documents"]:
            yield command["insert"], "insert", document
    elif name == "update":
        for update in command["updates"]:
            yield command["update"], "update", update["q"]
    elif name == "delete":
        for delete in command["deletes"]:
            yield command["delete"], "delete", delete["q"]
    elif name == "findAndModify":
        yield command["findAndModify"], "findAndModify", command.get("query", {})
    elif name == "aggregate":
        pipeline = command["pipeline"]
        first = pipeline[0] if pipeline else {}
        yield command["aggregate"], "aggregate", first.get("$match", {})
    elif name in ("count", "distinct"):
        yield command[name], name, command.get("query", {})
    # Anything else (ping, hello, commitTransaction, abortTransaction, endSessions) names no
    # collection's documents.


def _statement(rpc: str, collection: str, operation: str, document: dict[str, Any]) -> Statement:
    shard_key = KEYS.get(collection)
    if shard_key is None:
        return Statement(rpc, collection, operation, tuple(sorted(document)), "")
    fields = [field for field, _ in shard_key.key]
    if operation == "insert":
        return Statement(
            rpc,
            collection,
            operation,
            tuple(f for f in fields if f in document),
            _targets(shard_key, document),
        )
    return Statement(rpc, collection, operation, tuple(document), _targets(shard_key, document))


def _targets(shard_key: ShardKey, document: dict[str, Any]) -> str:
    fields = [field for field, _ in shard_key.key]
    equal = [field for field in fields if field in document and _is_equality(document[field])]
    if equal == fields:
        return ONE_SHARD
    ranged = all(order != "hashed" for _, order in shard_key.key)
    if ranged and equal and equal[0] == fields[0]:
        return OWNER_WIDE
    return SCATTER


def _is_equality(value: object) -> bool:
    if isinstance(value, dict) and any(str(k).startswith("$") for k in value):
        return set(value) == {"$eq"}
    return True


@pytest.fixture(scope="module")
def recorded(redis_url, mongo_uri) -> Iterator[tuple[ChatServiceClient, Recorder]]:
    settings = Settings(
        redis_url=redis_url,
        mongo_uri=mongo_uri,
        mongo_database=f"e2e_shard_{uuid.uuid4().hex[:12]}",
        api_key=Secret(canaries.API_KEY),
        api_key_owner="alice",
        llm_providers="",  # the offline model: the statements, not the answers, are tested
        cache_ttl_hours=0,
        # A small context window: a few turns in, older ones are summarized (`summaries`).
        max_context_tokens=1200,
        reply_max_tokens=200,
        api_rate_limit_rps=0,
        auth_failure_limit=0,
    )
    recorder = Recorder(settings.mongo_database)
    # Registered globally (pymongo has no other way for a client the app builds itself); it
    # ignores every database but this module's and records only while an RPC runs.
    monitoring.register(recorder)
    with pymongo.MongoClient(mongo_uri, tz_aware=True) as admin:
        migrations.apply_all(admin[settings.mongo_database])
        # A budget makes every model call reserve (a pending usage record), then settle it.
        MongoBudgetStore(admin[settings.mongo_database]).put(
            Budget(BudgetScope.OWNER, "alice", daily_usd=100.0), now=datetime.now(UTC)
        )
        try:
            with serve(create_app(settings)) as url:
                yield ChatServiceClient(url, timeout=30), recorder
        finally:
            recorder.database = ""
            admin.drop_database(settings.mongo_database)


def _run_every_rpc(client: ChatServiceClient, recorder: Recorder) -> None:
    ctx = Context(headers={"Authorization": f"Bearer {canaries.API_KEY}"})

    def call(rpc: str, method: str, request: object) -> Any:
        recorder.rpc = rpc
        try:
            return getattr(client, method)(ctx=ctx, request=request)
        finally:
            recorder.rpc = ""

    start = pb.StartConversationRequest(
        message="hello there", session_metadata=SESSION, idempotency_key=uuid.uuid4().hex
    )
    started = call("StartConversation", "StartConversation", start)
    call("StartConversation (repeated key)", "StartConversation", start)
    cid = started.conversation_id
    continued = call(
        "ContinueConversation",
        "ContinueConversation",
        pb.ContinueConversationRequest(
            conversation_id=cid, message="and then?", idempotency_key=uuid.uuid4().hex
        ),
    )
    # A unary turn that has ended: nothing to stop (cancelled=false, or not_found).
    try:
        call("CancelTurn", "CancelTurn", pb.CancelTurnRequest(turn_id=continued.turn_id))
        cancel_code = "ok"
    except TwirpServerException as exc:
        cancel_code = exc.code.value
    assert cancel_code in ("ok", "not_found")
    call(
        "ContinueConversation (session)",
        "ContinueConversation",
        pb.ContinueConversationRequest(message="by the session", session_metadata=SESSION),
    )
    for n in range(6):
        call(
            "ContinueConversation (summarizing)",
            "ContinueConversation",
            pb.ContinueConversationRequest(
                conversation_id=cid, message=f"tell me more, part {n}, " + "in detail " * 20
            ),
        )
    call("ListConversations", "ListConversations", pb.ListConversationsRequest(page_size=5))
    call("GetUsage", "GetUsage", pb.GetUsageRequest())
    call(
        "DescribeConversation",
        "DescribeConversation",
        pb.DescribeConversationRequest(conversation_id=cid, page_size=2),
    )
    call(
        "UpdateConversation",
        "UpdateConversation",
        pb.UpdateConversationRequest(conversation_id=cid, title="Renamed"),
    )
    call("ListModels", "ListModels", pb.ListModelsRequest())
    call(
        "SetDefaultInstructions",
        "SetDefaultInstructions",
        pb.DefaultInstructions(instructions="Answer briefly."),
    )
    call("GetDefaultInstructions", "GetDefaultInstructions", pb.GetDefaultInstructionsRequest())
    call("RegenerateReply", "RegenerateReply", pb.RegenerateReplyRequest(conversation_id=cid))
    call(
        "EditLastMessage",
        "EditLastMessage",
        pb.EditLastMessageRequest(conversation_id=cid, message="and then, briefly?"),
    )
    call("EndSession", "EndSession", pb.EndSessionRequest(session_metadata=SESSION))
    call(
        "DeleteConversation",
        "DeleteConversation",
        pb.DeleteConversationRequest(conversation_id=cid),
    )
    call(
        "DeleteConversation (again)",
        "DeleteConversation",
        pb.DeleteConversationRequest(conversation_id=cid),
    )
    with pytest.raises(TwirpServerException) as gone:
        call(
            "DescribeConversation (deleted)",
            "DescribeConversation",
            pb.DescribeConversationRequest(conversation_id=cid),
        )
    assert gone.value.code.value == "not_found"


def test_every_statement_on_a_sharded_collection_targets_one_shard(recorded, record_property):
    client, recorder = recorded

    _run_every_rpc(client, recorder)

    by_rpc: dict[str, list[Statement]] = {}
    for statement in recorder.statements:
        by_rpc.setdefault(statement.rpc, []).append(statement)
    # Each distinct statement once per RPC, in the order first sent, with how often it was.
    report = "\n".join(
        f"{rpc}:\n"
        + "\n".join(
            f"  {s}" + (f"  x{statements.count(s)}" if statements.count(s) > 1 else "")
            for s in dict.fromkeys(statements)
        )
        for rpc, statements in by_rpc.items()
    )
    print(f"\nstatements per RPC (shard keys of ops.shard.SHARD_KEYS)\n{report}")
    record_property("statements_per_rpc", report)

    rpcs = {rpc.split(" (")[0] for rpc in by_rpc}
    # Every RPC ran; all but ListModels (the configured allow-list) touch the database.
    every = {m.name for m in pb.DESCRIPTOR.services_by_name["ChatService"].methods}
    assert rpcs == every - {"ListModels"}
    sharded = [s for s in recorder.statements if s.targets]
    assert {s.collection for s in sharded} == set(KEYS)  # every sharded collection was seen
    assert ("summaries", "insert") in {(s.collection, s.operation) for s in sharded}
    assert [s for s in sharded if s.targets == SCATTER] == []
    owner_wide = {
        (s.rpc.split(" (")[0], s.collection, s.operation)
        for s in sharded
        if s.targets == OWNER_WIDE
    }
    assert owner_wide <= OWNER_WIDE_ALLOWED
    assert ("ListConversations", "conversations", "find") in owner_wide
