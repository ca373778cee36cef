"""How long a scrape may wait for listings: Prometheus's timeout, less what answering costs."""

from __future__ import annotations

import math

from exporter.engine import MAX_COLLECT_SECONDS

DEFAULT_SCRAPE_TIMEOUT = 60.0
MIN_SCRAPE_BUDGET = 0.1
# At most this share of a scrape's budget is held back for writing the answer.
MAX_RESERVE_SHARE = 0.5
# What writing and sending one series costs before a page has been measured (about 2 us a
# line in the fast writer, gzip and the socket included, more in prometheus_client's; 5 us
# for safety).
PRIOR_SECONDS_PER_SERIES = 5e-6
MIN_SERIES_TO_LEARN = 2000  # smaller answers are mostly fixed costs: they teach nothing


def scrape_budget(header: str | None, offset: float, *, ceiling: float = math.inf) -> float:
    """Return seconds to spend on a scrape, from Prometheus's timeout header minus offset.

    A header that is not a finite positive number counts as absent (60 s); a larger one than
    ``ceiling`` (the write timeout: the answer must be written by then) or
    ``MAX_COLLECT_SECONDS`` (600 s) is clamped to it.
    """
    try:
        timeout = float(header) if header else DEFAULT_SCRAPE_TIMEOUT
    except ValueError:
        timeout = DEFAULT_SCRAPE_TIMEOUT
    if not (math.isfinite(timeout) and timeout > 0):
        timeout = DEFAULT_SCRAPE_TIMEOUT
    return max(MIN_SCRAPE_BUDGET, min(timeout, ceiling, MAX_COLLECT_SECONDS) - offset)


class WriteCost:
    """Learn, per page (the telemetry path, each probe), what an answer costs per series."""

    def __init__(self) -> None:
        self._per_series: dict[str, float] = {}

    def reserve(self, page: str, series: int, budget: float) -> float:
        """Return how long before the budget ends waiting must stop to answer ``series``."""
        per_series = self._per_series.get(page, PRIOR_SECONDS_PER_SERIES)
        return min(budget * MAX_RESERVE_SHARE, 1.25 * per_series * series)

    def learn(self, page: str, series: int, seconds: float) -> None:
        """Remember what rendering and sending an answer of ``series`` took."""
        if series >= MIN_SERIES_TO_LEARN:
            self._per_series[page] = seconds / series
