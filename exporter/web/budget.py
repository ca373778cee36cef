"""How long a scrape may wait for listings: Prometheus's timeout, less what answering costs."""

from __future__ import annotations

import math

from exporter.engine import MAX_COLLECT_SECONDS

DEFAULT_SCRAPE_TIMEOUT = 60.0
MIN_SCRAPE_BUDGET = 0.1
# At most this share of a scrape's budget is held back for writing the answer.
MAX_RESERVE_SHARE = 0.5
# What writing and sending one bucket's series costs before a page has been measured
# (about 4 us a line in the fast writer, gzip and the socket included, doubled for safety).
PRIOR_SECONDS_PER_BUCKET = 10e-6
MIN_BUCKETS_TO_LEARN = 1000  # smaller answers are mostly fixed costs: they teach nothing


def scrape_budget(header: str | None, offset: float) -> float:
    """Return seconds to spend on a scrape, from Prometheus's timeout header minus offset.

    A header that is not a finite positive number counts as absent (60 s); a larger one than
    ``MAX_COLLECT_SECONDS`` (600 s) is clamped to it.
    """
    try:
        timeout = float(header) if header else DEFAULT_SCRAPE_TIMEOUT
    except ValueError:
        timeout = DEFAULT_SCRAPE_TIMEOUT
    if not (math.isfinite(timeout) and timeout > 0):
        timeout = DEFAULT_SCRAPE_TIMEOUT
    return max(MIN_SCRAPE_BUDGET, min(timeout, MAX_COLLECT_SECONDS) - offset)


class WriteCost:
    """Learn, per page (the telemetry path, each probe), what an answer costs per bucket."""

    def __init__(self) -> None:
        self._per_bucket: dict[str, float] = {}

    def reserve(self, page: str, buckets: int, budget: float) -> float:
        """Return how long before the budget ends waiting must stop to answer ``buckets``."""
        per_bucket = self._per_bucket.get(page, PRIOR_SECONDS_PER_BUCKET)
        return min(budget * MAX_RESERVE_SHARE, 1.25 * per_bucket * buckets)

    def learn(self, page: str, buckets: int, seconds: float) -> None:
        """Remember what writing and sending an answer of ``buckets`` took."""
        if buckets >= MIN_BUCKETS_TO_LEARN:
            self._per_bucket[page] = seconds / buckets
