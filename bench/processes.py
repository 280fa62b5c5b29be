"""Child processes for the benchmark stack: start, wait until ready, stop; CPU accounting."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


class ChildError(RuntimeError):
    """A child process exited or did not become ready; the message ends with its log tail."""


class Child:
    """One process in its own session (a Ctrl-C meant for the bench does not reach it), run
    from the project root, its output appended to `log_path`."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path = ROOT,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = dict(os.environ if env is None else env)
        self.cwd = cwd
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError(f"{self.name} is not started")
        return self._process.pid

    def start(self, ready: Callable[[], bool], *, timeout_s: float = 60.0) -> None:
        """Starts the process and polls `ready` until it returns True.

        Raises ChildError if the process exits or `timeout_s` passes first.
        """
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.cwd,
                env=self.env,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout_s
        while not ready():
            code = self._process.poll()
            if code is not None:
                raise ChildError(f"{self.name} exited with status {code}\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise ChildError(f"{self.name} not ready after {timeout_s:g} s\n{self.log_tail()}")
            time.sleep(0.1)

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM, then SIGKILL after `timeout_s`; no-op if not running."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError as exc:
            return f"(cannot read {self.log_path}: {exc})"
        return f"log {self.log_path}:\n" + "\n".join(text.splitlines()[-lines:])


def http_ok(url: str) -> Callable[[], bool]:
    """Returns a probe: True when GET `url` answers 200."""

    def probe() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=1.0) as response:
                return bool(response.status == 200)
        except (OSError, urllib.error.URLError):
            return False

    return probe


def cpu_seconds(pid: int) -> float:
    """Returns user + system CPU seconds used so far by process `pid` (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # After the ")" closing the command name: state is fields[0], utime [11], stime [12].
    return (int(fields[11]) + int(fields[12])) / _TICKS_PER_S


class CpuMeter:
    """CPU used by named processes between `start()` and `stop()`."""

    def __init__(self, pids: Mapping[str, int]) -> None:
        self._pids = dict(pids)
        self._begin: dict[str, float] = {}
        self._wall_begin = 0.0
        self.cpu_s: dict[str, float] = {}
        self.wall_s = 0.0

    def start(self) -> None:
        self._wall_begin = time.perf_counter()
        self._begin = {name: cpu_seconds(pid) for name, pid in self._pids.items()}

    def stop(self) -> None:
        self.wall_s = time.perf_counter() - self._wall_begin
        self.cpu_s = {
            name: cpu_seconds(pid) - self._begin[name] for name, pid in self._pids.items()
        }

    def summary(self, work_items: int) -> dict[str, dict[str, float]]:
        """Per process: CPU seconds, cores busy (CPU ÷ wall) and CPU ms per work item."""
        return {
            name: {
                "cpu_s": round(cpu, 3),
                "cores": round(cpu / self.wall_s, 3) if self.wall_s else 0.0,
                "cpu_ms_per_turn": round(1000 * cpu / work_items, 3) if work_items else 0.0,
            }
            for name, cpu in self.cpu_s.items()
        }
