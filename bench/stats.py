"""Latency summaries (milliseconds, nearest-rank percentiles)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Returns the nearest-rank `q` percentile (0 < q <= 100) of ascending `sorted_values`."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def summarize_ms(latencies_s: Sequence[float]) -> dict[str, float]:
    """Returns count, mean, p50, p90, p99 and max of `latencies_s`, in milliseconds."""
    values = sorted(1000 * v for v in latencies_s)
    if not values:
        return {"count": 0}
    return {
        "count": len(values),
        "mean_ms": round(statistics.fmean(values), 2),
        "p50_ms": round(percentile(values, 50), 2),
        "p90_ms": round(percentile(values, 90), 2),
        "p99_ms": round(percentile(values, 99), 2),
        "max_ms": round(values[-1], 2),
    }
