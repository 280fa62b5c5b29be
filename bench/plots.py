"""One PNG per benchmark, drawn from its results dict (matplotlib, no display needed).

`python -m bench.plots [DIR]` redraws every DIR/<scenario>.png from DIR/<scenario>.json
(default docs/benchmarks) without running anything.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # after use("Agg"): no display is needed


def _save(figure: Any, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def _log_ticks(axes: Any, values: list[int], labels: list[str]) -> None:
    """A log x axis with a tick and a plain label at each measured value only."""
    axes.set_xscale("log")
    axes.minorticks_off()
    axes.set_xticks(values, labels)


def concurrency(result: dict[str, Any], path: Path) -> Path:
    """Throughput against its ceiling, and p50/p99 latency, by number of clients."""
    rows = result["levels"]
    clients = [r["clients"] for r in rows]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(clients, [r["ceiling_turns_per_s"] for r in rows], "k--", label="ceiling")
    left.plot(clients, [r["turns_per_s"] for r in rows], "o-", label="measured")
    for r in rows:
        left.annotate(
            f"{r['ratio_to_ceiling']:.0%}",
            (r["clients"], r["turns_per_s"]),
            textcoords="offset points",
            xytext=(6, -12),
        )
    left.set(
        xlabel="concurrent clients",
        ylabel="turns/s",
        ylim=(0, None),
        title=f"Throughput, provider latency {result['llm_latency_s']:g} s",
    )
    _log_ticks(left, clients, [str(c) for c in clients])
    left.legend()
    right.plot(clients, [r["p50_ms"] for r in rows], "o-", label="p50")
    right.plot(clients, [r["p99_ms"] for r in rows], "s-", label="p99")
    right.axhline(1000 * result["llm_latency_s"], color="k", ls="--", label="provider latency")
    right.set(
        xlabel="concurrent clients",
        ylabel="turn latency (ms)",
        title="Turn latency",
        ylim=(0, None),
    )
    _log_ticks(right, clients, [str(c) for c in clients])
    right.legend()
    return _save(figure, path)


def conversation_length(result: dict[str, Any], path: Path) -> Path:
    """p50 and p99 turn latency by stored conversation length (log scale)."""
    rows = result["lengths"]
    lengths = [r["messages"] for r in rows]
    figure, axes = plt.subplots(figsize=(6.5, 4))
    axes.plot(lengths, [r["p50_ms"] for r in rows], "o-", label="p50")
    axes.plot(lengths, [r["p99_ms"] for r in rows], "s-", label="p99")
    axes.set(
        xlabel="messages in the conversation",
        ylabel="turn latency (ms)",
        title="Turn latency vs conversation length (instant provider)",
        ylim=(0, None),
    )
    _log_ticks(axes, lengths, [f"{n:,}" for n in lengths])
    axes.legend()
    return _save(figure, path)


def cache(result: dict[str, Any], path: Path) -> Path:
    """Miss against hit latency (log scale) and provider calls with and without the cache."""
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    names = ["miss", "hit"]
    width = 0.38
    for offset, key in ((-width / 2, "p50_ms"), (width / 2, "p99_ms")):
        values = [result[n][key] for n in names]
        bars = left.bar([i + offset for i in range(2)], values, width, label=key[:3])
        left.bar_label(bars, fmt="%.1f")
    left.set_xticks(range(2), names)
    left.set(
        yscale="log",
        ylabel="StartConversation latency (ms)",
        title=f"Cache miss vs hit (provider {result['llm_latency_s']:g} s)",
    )
    left.legend()
    calls = [result["provider_calls_without_cache"], result["provider_calls"]]
    bars = right.bar(["without cache", "with cache"], calls, color=["tab:gray", "tab:green"])
    right.bar_label(bars)
    right.set(
        ylabel="provider calls",
        title=f"Provider calls saved: {result['provider_calls_saved_ratio']:.0%}",
    )
    return _save(figure, path)


def cpu(result: dict[str, Any], path: Path) -> Path:
    """Server CPU per request: the app's turn against the bare uvicorn app."""
    figure, axes = plt.subplots(figsize=(6, 4))
    values = [result["bare_uvicorn_cpu_ms_per_request"], result["app_cpu_ms_per_turn"]]
    bars = axes.bar(["bare uvicorn app", "chat app turn"], values, color=["tab:gray", "tab:blue"])
    axes.bar_label(bars, fmt="%.3f ms")
    axes.set(
        ylabel="server CPU per request (ms)",
        title=f"Server CPU per request, instant provider: app = {result['ratio_app_to_bare']:g}× bare",
    )
    return _save(figure, path)


def memory(result: dict[str, Any], path: Path) -> Path:
    """Worker RSS by turns served, with the fitted trend over the steady part."""
    samples = result["samples"]
    turns = [s["turns"] for s in samples]
    mib = [s["rss_kib"] / 1024 for s in samples]
    figure, axes = plt.subplots(figsize=(7, 4))
    axes.plot(turns, mib, ".-", label="RSS")
    (x0, y0), (x1, y1) = result["fit_line"]
    slope = result["slope_kib_per_1000_turns"]
    axes.plot([x0, x1], [y0 / 1024, y1 / 1024], "r--", label=f"fit: {slope:+.0f} KiB / 1,000 turns")
    axes.set(
        xlabel="turns served",
        ylabel="worker RSS (MiB)",
        ylim=(0, max(mib) * 1.15),
        title="Memory of one worker (instant provider)",
    )
    axes.legend(loc="lower right")
    return _save(figure, path)


def owner(result: dict[str, Any], path: Path) -> Path:
    """Peak Python heap and peak RSS of the export and the erasure, by the owner's size."""
    rows = result["rows"]
    sizes = sorted({r["conversations"] for r in rows})
    operations = ["floor", "export", "erase"]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    width = 0.8 / len(sizes)
    for n, size in enumerate(sizes):
        by_op = {r["operation"]: r for r in rows if r["conversations"] == size}
        offsets = [i - 0.4 + width * (n + 0.5) for i in range(len(operations))]
        for axes, key, fmt in (
            (left, "python_heap_peak_mib", "%.1f"),
            (right, "peak_rss_mib", "%.0f"),
        ):
            values = [by_op[op][key] for op in operations]
            bars = axes.bar(offsets, values, width, label=f"{size:,} conversations")
            axes.bar_label(bars, fmt=fmt)
    for axes, label in ((left, "Python heap peak (MiB)"), (right, "peak RSS (MiB)")):
        axes.set_xticks(range(len(operations)), ["imports + ping", "export", "erase"])
        axes.set(ylabel=label, ylim=(0, axes.get_ylim()[1] * 1.3))  # room for labels, legend
    left.legend(loc="upper left")
    left.set_title("Python heap peak (tracemalloc)")
    right.set_title("Peak resident set (interpreter and imports included)")
    long = result["long_conversation_messages"]
    figure.suptitle(
        f"One owner's export and erasure; each size also holds one conversation of {long:,} "
        "messages"
    )
    return _save(figure, path)


def streaming(result: dict[str, Any], path: Path) -> Path:
    """What the service adds to the first token and to each token gap (p50/p90/p99), at the
    full and at a quarter of the streams, against the targets."""
    levels = [(result["at_quarter"]["streams"], result["at_quarter"]), (result["streams"], result)]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    marks = ("p50_ms", "p90_ms", "p99_ms")
    for axes, key, title in (
        (left, "first_token_added", "First token: added to the provider's 300 ms"),
        (right, "gap_added", "Token gap: added to the provider's 20 ms"),
    ):
        width = 0.8 / len(levels)
        for n, (streams, level) in enumerate(levels):
            offsets = [i - 0.4 + width * (n + 0.5) for i in range(len(marks))]
            values = [max(level[key][m], 0.0) for m in marks]
            bars = axes.bar(offsets, values, width, label=f"{streams} streams")
            axes.bar_label(bars, fmt="%.1f")
        axes.set_xticks(range(len(marks)), ["p50", "p90", "p99"])
        axes.set(ylabel="ms", title=title)
        axes.legend(loc="upper left")
    targets = result["targets_ms"]
    left.axhline(targets["first_token_added_p99_ms"], color="k", ls="--", lw=0.8)
    left.axhline(targets["first_token_added_p50_ms"], color="k", ls=":", lw=0.8)
    right.axhline(targets["gap_added_p99_ms"], color="k", ls="--", lw=0.8)
    memory = result["memory"]
    figure.suptitle(
        f"Streamed turns on one worker (dashed: targets); {memory['kib_per_open_stream']:.0f} KiB "
        f"per open stream; resume p50 {result['resume_first_event']['p50_ms']:.1f} ms"
    )
    return _save(figure, path)


Drawer = Callable[[dict[str, Any], Path], Path]


def bursts(result: dict[str, Any], path: Path) -> Path:
    """Latency added to the provider's, p50 and p99, by number of lock-step clients."""
    rows = result["levels"]
    clients = [r["clients"] for r in rows]
    figure, axes = plt.subplots(figsize=(6, 4))
    axes.plot(clients, [r["added_p50_ms"] for r in rows], "o-", label="p50")
    axes.plot(clients, [r["added_p99_ms"] for r in rows], "s-", label="p99")
    for r in rows:
        axes.annotate(
            f"{r['ratio_to_ceiling']:.0%} of ceiling",
            (r["clients"], r["added_p99_ms"]),
            textcoords="offset points",
            xytext=(-30, 8),
            fontsize=8,
        )
    axes.set(
        xlabel="clients firing together",
        ylabel="added latency, ms",
        ylim=(0, None),
        title=f"Bursts, provider latency {result['llm_latency_s']:g} s",
    )
    _log_ticks(axes, clients, [str(c) for c in clients])
    axes.legend()
    return _save(figure, path)


def round_trips(result: dict[str, Any], path: Path) -> Path:
    """Round trips of one turn by store, now and (if recorded) before the cut."""
    methods = ["StartConversation", "ContinueConversation"]
    stores = ["mongo", "redis"]
    figure, axes = plt.subplots(figsize=(7, 4))
    labels = [f"{m.removesuffix('Conversation')}\n{s}" for m in methods for s in stores]
    now = [result[m][s]["round_trips"] for m in methods for s in stores]
    spots = list(range(len(labels)))
    if "before" in result:
        then = [result["before"][m][s]["round_trips"] for m in methods for s in stores]
        axes.bar([x - 0.2 for x in spots], then, width=0.4, label="before")
        axes.bar([x + 0.2 for x in spots], now, width=0.4, label="now")
        axes.legend()
    else:
        axes.bar(spots, now, width=0.5)
    axes.set_xticks(spots, labels)
    axes.set(ylabel="round trips per turn", title="Round trips of one turn")
    return _save(figure, path)


DRAWERS: dict[str, Drawer] = {
    "concurrency": concurrency,
    "length": conversation_length,
    "cache": cache,
    "cpu": cpu,
    "memory": memory,
    "owner": owner,
    "streaming": streaming,
    "round_trips": round_trips,
    "bursts": bursts,
}


def main(argv: list[str]) -> int:
    directory = (
        Path(argv[0]) if argv else Path(__file__).resolve().parent.parent / "docs" / "benchmarks"
    )
    for name, draw in DRAWERS.items():
        source = directory / f"{name}.json"
        if source.exists():
            print(draw(json.loads(source.read_text())["result"], directory / f"{name}.png"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
