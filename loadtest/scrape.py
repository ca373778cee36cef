"""Scrape the exporter like Prometheus does and check the answer is whole."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import httpx
from prometheus_client.parser import text_string_to_metric_families

from exporter import metrics

# Families every whole page has, from its first part to its last (the per-bucket series are
# written last): a response missing one was cut short or built wrongly.
REQUIRED_FAMILIES = tuple(
    f.base
    for f in (
        metrics.BUILD_INFO,
        metrics.BUCKETS,
        metrics.UP,
        metrics.DISCOVERY_REGIONS,
        *metrics.PER_BUCKET,
    )
)
SCRAPE_TIMEOUT = 10.0  # what the scrapers send as X-Prometheus-Scrape-Timeout-Seconds


@dataclass(frozen=True)
class Outcome:
    """One scrape: HTTP status (0 when none), seconds, whether the exposition was whole."""

    status: int
    seconds: float
    complete: bool
    problem: str = ""


def scrape(client: httpx.Client, url: str, *, targets: int) -> Outcome:
    """GET ``url``/metrics once; parse it and check it names every target."""
    started = time.perf_counter()
    try:
        response = client.get(
            url + "/metrics",
            timeout=SCRAPE_TIMEOUT + 5,
            headers={"X-Prometheus-Scrape-Timeout-Seconds": str(SCRAPE_TIMEOUT)},
        )
    except httpx.HTTPError as exc:
        return Outcome(0, time.perf_counter() - started, False, f"{type(exc).__name__}: {exc}")
    seconds = time.perf_counter() - started
    problem = (
        check_exposition(response.text, targets)
        if response.status_code == 200
        else f"HTTP {response.status_code}"
    )
    return Outcome(response.status_code, seconds, not problem, problem)


def check_exposition(text: str, targets: int) -> str:
    """Return what is wrong with an exposition ("" when it is whole)."""
    try:
        families = list(text_string_to_metric_families(text))
    except ValueError as exc:
        return f"unparsable: {exc}"
    names = {f.name for f in families}
    missing = [name for name in REQUIRED_FAMILIES if name not in names]
    if missing or not text.endswith("\n"):
        return f"incomplete: missing {', '.join(missing) or 'the final newline'}"
    ups = [s for f in families if f.name == metrics.UP.name for s in f.samples]
    if len(ups) != targets:
        return f"{len(ups)} {metrics.UP.name} samples, want {targets}"
    return ""


def percentile(values: Sequence[float], q: float) -> float:
    """Return the q-th percentile (nearest rank) of ``values``; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]
