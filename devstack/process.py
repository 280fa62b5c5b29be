"""A server run as a child process on loopback: start, wait until it answers, stop, restart."""

from __future__ import annotations

import shlex
import socket
import subprocess
import time
from abc import ABC, abstractmethod
from pathlib import Path
from types import TracebackType
from typing import Self

LOOPBACK = "127.0.0.1"


class ServerStartError(RuntimeError):
    """A server did not answer in time; the message ends with the tail of its log."""


def free_port(host: str = LOOPBACK) -> int:
    """Returns a TCP port on `host` that nothing listens on at the time of the call."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class ServerProcess(ABC):
    """One server process on a fixed port and data dir, so `start` after `stop` brings it back.

    Its output goes to `log_path` (appended). It runs in its own session, so a Ctrl-C meant for the
    parent does not reach it: the owner stops it. Usable as a context manager (start, then stop).
    """

    name = "server"

    def __init__(
        self,
        data_dir: Path,
        *,
        binary: Path,
        port: int | None = None,
        log_name: str,
        start_timeout_s: float,
        stop_timeout_s: float,
    ) -> None:
        self.binary = binary
        self.data_dir = Path(data_dir).absolute()
        self.port = free_port() if port is None else port
        self.log_path = self.data_dir / log_name
        self.start_timeout_s = start_timeout_s
        self.stop_timeout_s = stop_timeout_s
        self._process: subprocess.Popen[bytes] | None = None

    @abstractmethod
    def command(self) -> list[str]:
        """Returns the command line that runs the server in the foreground."""

    @abstractmethod
    def answers(self) -> bool:
        """Returns True if this very process (not another on the port) answers a ping."""

    @property
    def pid(self) -> int | None:
        """The process id while started, else None."""
        return None if self._process is None else self._process.pid

    @property
    def running(self) -> bool:
        """True while the process is started and has not exited."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Starts the server and waits until it answers.

        Raises ServerStartError if it exits or does not answer within `start_timeout_s`, and
        RuntimeError if it is already running.
        """
        if self.running:
            raise RuntimeError(f"{self.name} is already running (pid {self.pid})")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,
                start_new_session=True,
            )
        try:
            self._wait_until_answering(log_offset)
        except BaseException:
            self.kill()
            raise

    def stop(self) -> None:
        """Stops the server: SIGTERM, then SIGKILL after `stop_timeout_s`. No-op if not started."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=self.stop_timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def kill(self) -> None:
        """Kills the server with SIGKILL, as a crash would. No-op if not started."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()

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

    def _wait_until_answering(self, log_offset: int) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.start_timeout_s
        while not self.answers():
            code = self._process.poll()
            if code is not None:
                self._fail(f"exited with status {code}", log_offset)
            if time.monotonic() > deadline:
                self._fail(f"did not answer within {self.start_timeout_s:g} s", log_offset)
            time.sleep(0.05)

    def _fail(self, what: str, log_offset: int) -> None:
        raise ServerStartError(
            f"{self.name} on {LOOPBACK}:{self.port} {what}\n"
            f"command: {shlex.join(self.command())}\n"
            f"log {self.log_path}:\n{self._log_tail(log_offset)}"
        )

    def _log_tail(self, offset: int, lines: int = 20) -> str:
        try:
            with self.log_path.open("rb") as log:
                log.seek(offset)
                text = log.read().decode(errors="replace")
        except OSError as exc:
            return f"(cannot read the log: {exc})"
        return "\n".join(text.splitlines()[-lines:]) or "(empty)"
