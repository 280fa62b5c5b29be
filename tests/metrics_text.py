"""Reading a Prometheus text exposition in tests."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


def samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    """Returns (labels, value) of every sample called `name`."""
    found = []
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                found.append((dict(sample.labels), sample.value))
    return found


def value(text: str, name: str, /, **labels: str) -> float:
    """Returns the sum of the samples of `name` whose labels include `labels` (0 if none)."""
    return sum(v for found, v in samples(text, name) if labels.items() <= found.items())
