"""Multiprocess mode: counters recorded by several worker processes add up in one scrape."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.metrics_text import samples, value

ROOT = Path(__file__).resolve().parents[2]

RECORD = """
import sys
from chat_service.observability.attribution import Attribution
from chat_service.observability.metrics import Metrics
from chat_service.core.prices import PriceTable

metrics = Metrics(prices=PriceTable.from_json(""), multiprocess_dir=sys.argv[1])
metrics.http_request(method="POST", route="/twirp/a.S/M", status=200, seconds=0.01)
metrics.llm.record(provider="openai", model="gpt-4o-mini", operation="reply", outcome="ok",
                   seconds=0.5, input_tokens=100, output_tokens=10, who=Attribution("o", "api", "u"))
metrics.http_in_flight.inc()
metrics.set_breaker_state("llm:openai", "open" if sys.argv[2] == "stay" else "closed")
metrics.dependency_checked("redis", up=sys.argv[2] == "stay")
if sys.argv[2] == "exit":
    metrics.close()
"""

SCRAPE = """
import sys
from chat_service.observability.metrics import Metrics
from chat_service.core.prices import PriceTable

body, _ = Metrics(prices=PriceTable.from_json(""), multiprocess_dir=sys.argv[1]).exposition()
sys.stdout.write(body.decode())
"""


def _python(code: str, *args: str, directory: Path) -> str:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code, str(directory), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def test_counters_of_several_processes_are_summed(tmp_path):
    _python(RECORD, "exit", directory=tmp_path)
    _python(RECORD, "exit", directory=tmp_path)
    _python(RECORD, "stay", directory=tmp_path)
    text = _python(SCRAPE, directory=tmp_path)
    assert value(text, "http_requests_total", route="/twirp/a.S/M", status="200") == 3
    assert value(text, "openai_tokens_total", model="gpt-4o-mini") == 330
    assert value(text, "llm_cost_usd_total") > 0
    # Live gauges drop the workers that exited through close(); not the one that stayed.
    assert value(text, "http_requests_in_flight") == 1
    # Breakers are per worker (a pid label); the dependency check is the latest one's.
    [(labels, state)] = samples(text, "circuit_breaker_state")
    assert (labels["name"], state) == ("llm:openai", 1)
    assert labels["pid"].isdigit()
    assert samples(text, "dependency_up") == [({"dependency": "redis"}, 1)]
