"""`python -m ops.smoke [--url URL] [--api-key KEY]`: checks a running service end to end.

Health, readiness, metrics, then a whole conversation (Start, Continue, Describe, List, Delete) through
the generated client in protobuf and again in JSON. Prints a one-screen report and exits 1 on
any deviation. A /metrics that is not served (404) or wants a key that was not given (401) is
reported as a warning, not a failure. Each run makes two conversations (four model turns) and
deletes them again with DeleteConversation, also when a step in between failed; `--keep` keeps
them.

The URL defaults to SMOKE_URL, else the app a running `make run` serves (var/stack/), else
http://127.0.0.1:$PORT (from the environment or `.env`); the key to SMOKE_API_KEY, else API_KEY;
it is sent as `Authorization: Bearer`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import requests
from prometheus_client.parser import text_string_to_metric_families

from chat_service.config import Settings, SettingsError
from devstack.envfile import read_env_file
from devstack.stack_record import RUN, STACK_DIR, live_record
from ops.smoke_conversation import (
    DELETE,
    SmokeFailure,
    Step,
    conversation_steps,
    json_transport,
    protobuf_transport,
)

PASS, WARN, FAIL = "PASS", "WARN", "FAIL"
REQUIRED_METRIC = "http_requests_total"


class Tolerated(Exception):
    """A gap that is reported as a warning: the service works, a feature is not there."""


@dataclass(frozen=True, slots=True)
class Check:
    """The outcome of one step."""

    name: str
    status: str
    detail: str
    elapsed_ms: float


def run_checks(
    base_url: str,
    *,
    session: requests.Session,
    api_key: str = "",
    prefix: str = "/twirp",
    timeout_s: float = 60.0,
    clock: Callable[[], float] = time.perf_counter,
    keep: bool = False,
) -> list[Check]:
    """Runs every step against `base_url` and returns their outcomes, in order. A failed step
    of a conversation ends that conversation (its later steps depend on it), but for its
    DeleteConversation: a conversation that was started is deleted, unless `keep`."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    base_url = base_url.rstrip("/")

    def get(path: str) -> requests.Response:
        try:
            return session.get(base_url + path, headers=headers, timeout=timeout_s)
        except requests.RequestException as exc:
            raise SmokeFailure(f"no answer: {exc}") from exc

    def health() -> str:
        return _status_check(get("/health"), expected="healthy")

    def ready() -> str:
        return _status_check(get("/ready"), expected="ready")

    def metrics() -> str:
        return _metrics_check(get("/metrics"), with_key=bool(api_key))

    checks = [_timed(name, step, clock) for name, step in (("health", health), ("ready", ready))]
    checks.append(_timed("metrics", metrics, clock))
    transports = {
        "protobuf": protobuf_transport(
            base_url, prefix=prefix, headers=headers, timeout_s=timeout_s
        ),
        "json": json_transport(
            base_url, prefix=prefix, headers=headers, timeout_s=timeout_s, session=session
        ),
    }
    for wire, call in transports.items():
        made: list[str] = []
        steps = dict(conversation_steps(call, made, keep=keep))
        for method, step in steps.items():
            checks.append(_timed(f"{wire} {method}", step, clock))
            if checks[-1].status == FAIL:
                # Nothing later can pass; a conversation that was started is still deleted.
                if made and method != DELETE and DELETE in steps:
                    checks.append(_timed(f"{wire} {DELETE}", steps[DELETE], clock))
                break
    return checks


def _status_check(response: requests.Response, *, expected: str) -> str:
    try:
        body = response.json()
    except ValueError:
        raise SmokeFailure(f"HTTP {response.status_code}, not JSON") from None
    status = body.get("status") if isinstance(body, dict) else None
    if response.status_code != 200 or status != expected:
        raise SmokeFailure(f"HTTP {response.status_code} {body}"[:200])
    return f"200 {status}"


def _metrics_check(response: requests.Response, *, with_key: bool) -> str:
    if response.status_code == 404:
        raise Tolerated("not served (404)")
    if response.status_code == 401 and not with_key:
        raise Tolerated("needs an API key (401): pass --api-key or SMOKE_API_KEY")
    if response.status_code != 200:
        raise SmokeFailure(f"HTTP {response.status_code}")
    try:
        families = list(text_string_to_metric_families(response.text))
    except ValueError as exc:
        raise SmokeFailure(f"not the Prometheus text format: {exc}") from exc
    samples = {sample.name for family in families for sample in family.samples}
    if REQUIRED_METRIC not in samples:
        raise SmokeFailure(f"no {REQUIRED_METRIC} among {len(families)} metric families")
    return f"200, {len(families)} metric families"


def _timed(name: str, step: Step, clock: Callable[[], float]) -> Check:
    started = clock()
    try:
        status, detail = PASS, step()
    except Tolerated as gap:
        status, detail = WARN, str(gap)
    except SmokeFailure as failure:
        status, detail = FAIL, str(failure)
    except Exception as exc:  # a smoke test reports every surprise instead of a traceback
        status, detail = FAIL, f"{type(exc).__name__}: {exc}"
    return Check(name, status, detail, (clock() - started) * 1000)


def print_report(base_url: str, checks: Sequence[Check], out: TextIO) -> bool:
    """Prints the one-screen report; returns True when nothing failed."""
    print(f"smoke test of {base_url}", file=out)
    for check in checks:
        detail = check.detail if len(check.detail) <= 72 else check.detail[:69] + "..."
        print(f"  {check.status}  {check.name:<31} {check.elapsed_ms:>7.0f} ms  {detail}", file=out)
    failed = sum(check.status == FAIL for check in checks)
    warned = sum(check.status == WARN for check in checks)
    if failed:
        print(f"smoke test FAILED: {failed} of {len(checks)} checks failed", file=out)
    else:
        warnings = f"{warned} warning{'' if warned == 1 else 's'}"
        print(f"smoke test ok: {len(checks)} checks, {warnings}", file=out)
    return not failed


def default_url(environ: Mapping[str, str], env_file: Path, *, stack_dir: Path = STACK_DIR) -> str:
    """Returns SMOKE_URL, else the URL of the app `make run` serves, else the local server's
    URL from PORT (environment, then `.env`)."""
    if environ.get("SMOKE_URL"):
        return environ["SMOKE_URL"]
    record = live_record(directory=stack_dir, kinds=(RUN,))
    if record is not None and record.app_url:
        return record.app_url
    settings = Settings.from_env({**read_env_file(env_file), **environ})
    return f"http://127.0.0.1:{settings.port}"


def main(
    argv: Sequence[str] | None = None,
    *,
    out: TextIO = sys.stdout,
    environ: Mapping[str, str] | None = None,
) -> int:
    """Runs the smoke test; returns 0 when every check passed (warnings allowed), else 1.

    `environ` (default: os.environ) supplies SMOKE_URL, the keys and TWIRP_PREFIX."""
    env = os.environ if environ is None else environ
    parser = argparse.ArgumentParser(
        prog="python -m ops.smoke",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--url", help="base URL of the service")
    parser.add_argument("--api-key", help="API key (default: SMOKE_API_KEY, else API_KEY)")
    parser.add_argument(
        "--prefix",
        default=env.get("TWIRP_PREFIX", "/twirp"),
        help="Twirp path prefix (default: TWIRP_PREFIX, else /twirp)",
    )
    parser.add_argument("--timeout-s", type=float, default=60.0, help="per request")
    parser.add_argument(
        "--keep", action="store_true", help="keep the two conversations instead of deleting them"
    )
    args = parser.parse_args(argv)
    try:
        url = args.url or default_url(env, Path(".env"))
    except (SettingsError, ValueError) as exc:
        print(f"smoke: error: {exc}", file=sys.stderr)
        return 2
    api_key = args.api_key or env.get("SMOKE_API_KEY") or env.get("API_KEY", "")
    with requests.Session() as session:
        checks = run_checks(
            url,
            session=session,
            api_key=api_key,
            prefix=args.prefix,
            timeout_s=args.timeout_s,
            keep=args.keep,
        )
    return 0 if print_report(url, checks, out) else 1


if __name__ == "__main__":
    sys.exit(main())
