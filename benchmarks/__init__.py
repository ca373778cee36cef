"""Benchmarks of the exporter against the simulated UCloud gateway: ``python -m benchmarks``.

Four cases, each printing a table (see docs/benchmarks.md for the latest figures):

- ``latency``: scrape latency against the round-trip bound of the API;
- ``render``: the cost of serving ``/metrics`` against ``prometheus_client``'s own floor;
- ``calls``: exact upstream call counts, single flight and the ``min_interval_seconds`` cache;
- ``memory``: RSS of the real exporter process (peak, idle, growth over many scrapes).
"""
