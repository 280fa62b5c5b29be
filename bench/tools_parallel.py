"""Parallel tool calls: three weather calls of one model step, each upstream answer taking 1 s.

Runs the real ToolRunner and weather tool (requests, breakers) against the local fake weather
upstream with a per-request delay, once with the service's pool and once with a one-thread
pool (the calls one after another), and prints the wall time of each.

    python -m bench.tools_parallel [--delay-s 1.0] [--calls 3] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import requests

from chat_service.composition.toolbox import build_tool_registry
from chat_service.config import Settings
from chat_service.core.breakers import BreakerBoard
from chat_service.core.models import ToolCall
from tests.fakes.weather_server import FakeWeatherServer
from tools.runner import ToolRunner


def measure(runner: ToolRunner, calls: list[ToolCall], repeat: int) -> list[float]:
    """Returns the wall time of `runner.run_all(calls)`, `repeat` times, in seconds."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        results = runner.run_all(calls)
        times.append(time.perf_counter() - started)
        if not all(r.ok for r in results):
            raise RuntimeError(f"a tool call failed: {[r.content for r in results]}")
    return times


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--delay-s", type=float, default=1.0, help="delay of each upstream request")
    parser.add_argument("--calls", type=int, default=3, help="tool calls in the model step")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    with FakeWeatherServer() as upstream, requests.Session() as http:
        upstream.state.delay_s = args.delay_s / 2  # each weather call makes two requests
        settings = Settings(
            open_meteo_geocoding_url=upstream.url,
            open_meteo_forecast_url=upstream.url,
            weather_timeout_s=args.delay_s * 5,
        )
        registry = build_tool_registry(
            settings,
            http=http,
            breakers=BreakerBoard(max_failures=100, cooldown_s=1),
            clock=lambda: datetime.now(UTC),
            load_plugins=False,
        )
        calls = [
            ToolCall(f"c{i}", "get_weather", '{"location": "Barcelona"}') for i in range(args.calls)
        ]
        print(
            f"{args.calls} get_weather calls, each {args.delay_s:g} s upstream, best of {args.repeat}:"
        )
        for label, workers in (("parallel (tool pool of 16)", 16), ("sequential (pool of 1)", 1)):
            with ThreadPoolExecutor(max_workers=workers) as pool:
                times = measure(ToolRunner(registry, executor=pool), calls, args.repeat)
            print(f"  {label:28s} best {min(times):.3f} s  median {statistics.median(times):.3f} s")


if __name__ == "__main__":
    main()
