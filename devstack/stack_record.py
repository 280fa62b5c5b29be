"""The running dev stack's addresses, recorded under `var/stack/` for the command-line tools.

`make run` and `make servers` each write `var/stack/<pid>.json` while they run and remove it when
they stop. A record whose process is gone (killed before it could clean up) is ignored, and
removed by the next reader. The CLIs take from the newest live record what the environment
leaves unset: the environment always wins. Standard library only, so every CLI can import it.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

STACK_DIR = Path("var") / "stack"
SERVERS = "servers"  # written by `make servers`: Redis and MongoDB, nothing else
RUN = "run"  # written by `make run`: the servers it uses and the app's URL

_MONGO_VARIABLES = ("MONGO_URI", "MONGODB_URI")
_REDIS_VARIABLES = ("REDIS_URL", "REDIS_ADDR")


@dataclass(frozen=True, slots=True)
class StackRecord:
    """What one `make run` or `make servers` process serves; `app_url` is "" for servers."""

    kind: str
    pid: int
    redis_url: str
    mongo_uri: str
    mongo_database: str = ""
    app_url: str = ""
    started_at: float = 0.0


def pid_alive(pid: int) -> bool:
    """Returns True if a process with id `pid` exists (of any user)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def recorded(record: StackRecord, *, directory: Path = STACK_DIR) -> Iterator[Path]:
    """Writes `record` to `directory/<pid>.json` for the block, then removes it; yields the path.

    The file appears whole (written aside, then renamed), so a reader never sees half of it,
    and only its user can read it.
    """
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{record.pid}.json"
    partial = path.with_suffix(".partial")
    # Only its user may read it: a configured URL may hold a password.
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(json.dumps(asdict(record), indent=2) + "\n")
    partial.replace(path)
    try:
        yield path
    finally:
        with suppress(FileNotFoundError):
            path.unlink()


def live_record(
    *,
    directory: Path = STACK_DIR,
    kinds: tuple[str, ...] = (RUN, SERVERS),
    alive: Callable[[int], bool] = pid_alive,
) -> StackRecord | None:
    """Returns the newest record of one of `kinds` whose process is alive, or None.

    Records of dead processes are removed; unreadable files are skipped.
    """
    found = []
    for path in sorted(directory.glob("*.json")) if directory.is_dir() else ():
        record = _read(path)
        if record is None:
            continue
        if not alive(record.pid):
            with suppress(OSError):
                path.unlink()
            continue
        if record.kind in kinds:
            found.append(record)
    return max(found, key=lambda r: r.started_at, default=None)


def with_stack_defaults(environ: Mapping[str, str], record: StackRecord | None) -> dict[str, str]:
    """Returns `environ` plus the record's MongoDB and Redis addresses where `environ` sets none.

    MONGO_DATABASE comes from the record only along with its MONGO_URI: a database name belongs
    to its server.
    """
    env = dict(environ)
    if record is None:
        return env
    if not _is_set(env, *_MONGO_VARIABLES):
        env["MONGO_URI"] = record.mongo_uri
        if record.mongo_database and not _is_set(env, "MONGO_DATABASE"):
            env["MONGO_DATABASE"] = record.mongo_database
    if not _is_set(env, *_REDIS_VARIABLES):
        env["REDIS_URL"] = record.redis_url
    return env


def new_record(
    kind: str, *, redis_url: str, mongo_uri: str, mongo_database: str = "", app_url: str = ""
) -> StackRecord:
    """Returns the record of this process, started now."""
    return StackRecord(
        kind=kind,
        pid=os.getpid(),
        redis_url=redis_url,
        mongo_uri=mongo_uri,
        mongo_database=mongo_database,
        app_url=app_url,
        started_at=time.time(),
    )


def redact(url: str) -> str:
    """Returns `url` with its password, if any, replaced by `***`."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    userinfo, _, hosts = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{hosts}"))


def _is_set(env: Mapping[str, str], *names: str) -> bool:
    return any(env.get(name, "").strip() for name in names)


def _read(path: Path) -> StackRecord | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return StackRecord(
            kind=str(data["kind"]),
            pid=int(data["pid"]),
            redis_url=str(data["redis_url"]),
            mongo_uri=str(data["mongo_uri"]),
            mongo_database=str(data.get("mongo_database", "")),
            app_url=str(data.get("app_url", "")),
            started_at=float(data.get("started_at", 0.0)),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
