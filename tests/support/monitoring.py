"""The shipped rules and the dashboard's queries against a real Prometheus, for e2e tests.

The rules are loaded as they are, except that every ``for:`` is shortened to 2s and every
group ``interval:`` to 1s, so the tests finish in seconds; their real durations are covered
by the promtool unit tests (prometheus/tests/).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from pathlib import Path

from tests.support import panels
from tests.support.prometheus import PrometheusServer
from tests.support.realparts import Sample

ROOT = Path(__file__).resolve().parents[2]
RANGE = 12  # seconds of history the "in range" panels look back over
# Grafana's variables for a 1s-scrape test history; override e.g. instance=... per call.
TEST_VALUES = {"__rate_interval": "5s", "__range": f"{RANGE}s"}


def fast_rules(name: str) -> str:
    """Return the shipped rule file ``name`` with short ``for:`` and group ``interval:``."""
    text = (ROOT / "prometheus" / name).read_text(encoding="utf-8")
    text = re.sub(r"(?m)^(\s+for:) \S+$", r"\1 2s", text)
    return re.sub(r"(?m)^(\s+interval:) \S+$", r"\1 1s", text)


def rule_files(*names: str) -> dict[str, str | Path]:
    return {name: fast_rules(name) for name in names}


def panel_query(expr: str, **values: str) -> str:
    """``expr`` with the dashboard variables substituted as Grafana would, for a test history."""
    return panels.substitute(expr, **{**TEST_VALUES, **values})


def dashboard_results(
    prom: PrometheusServer, at: float, *, image_rows: bool = False, **values: str
) -> dict[str, list[Sample]]:
    """Every panel query ("panel / refId") and variable ("variable name") evaluated at ``at``.

    The queries of the image rows and the series budget panel (``IMAGE_ROWS``,
    ``SERIES_BUDGET_PANEL``) only with ``image_rows``: they need the exporter set up for them
    (``IMAGE_ROWS_NEED``). Variables are evaluated as Grafana's label_values() does: the
    series their selector matches over the last ``RANGE`` seconds.
    """
    queries = panels.queries()
    if not image_rows:
        skipped = set(image_row_queries(query.where for query in queries))
        queries = [query for query in queries if query.where not in skipped]
    found = {query.where: prom.query(panel_query(query.expr, **values), at) for query in queries}
    for name, selector in panels.variable_selectors():
        series = prom.series(panel_query(selector, **values), at - RANGE, at)
        found[f"variable {name}"] = [{"metric": s, "value": [at, "1"]} for s in series if name in s]
    return found


# Needs an account whose projects are discovered (no project_id) on a temporary key
# (assume_role, instance_role); tests/test_e2e_monitoring.py runs one.
DISCOVERY_PANEL = "Project discovery and credentials"

# What the dashboard's UHub row needs to show data in these tests (every query must).
UHUB_ROW = "UHub registry"
UHUB_NEEDS = (
    "an account with uhub: true whose simulated UHub has repositories, images with a "
    "PullCount, one updated more than 90 days ago and one whose tags are counted "
    "(uhub.tag_counts), refreshed at least once before the queries run"
)


def uhub_queries(wheres: Iterable[str]) -> list[str]:
    """Those of ``wheres`` ("panel / refId") that belong to the dashboard's UHub row."""
    uhub = panels.row_titles(UHUB_ROW)
    return [where for where in wheres if where.rsplit(" / ", 1)[0] in uhub]


def series_touched(prom: PrometheusServer, expr: str, start: float, end: float) -> int:
    """How many series the selectors of ``expr`` select between ``start`` and ``end``."""
    return sum(
        len(prom.series(f"{metric}{{{matchers}}}", start, end))
        for metric, matchers in panels.selectors(panel_query(expr))
    )


def values(result: list[Sample]) -> list[float]:
    return sorted(float(sample["value"][1]) for sample in result)


def settle(prom: PrometheusServer, *exprs: str, timeout: float = 30) -> float:
    """Wait until every ``exprs`` has a result, then return a query time by when every
    scrape and rule evaluation has landed (two seconds ago, three seconds later)."""
    for expr in exprs:
        prom.wait_for(expr, timeout=timeout)
    time.sleep(3)
    return time.time() - 2


# The rows of the images outside the bucket listing and UHub (accounts with
# docker_images: true, host_images: true), and the series budget's panel in the health row:
# they show data once the exporter exposes those families.
IMAGE_ROWS = ("Images inside buckets", "Custom host images")
SERIES_BUDGET_PANEL = "Series left out of the scrape"
IMAGE_ROWS_NEED = (
    "an account with docker_images: true and host_images: true whose simulated buckets hold "
    "Docker images with tags and whose regions hold custom host images with a MaintainEol, "
    "in a region with a known quota, refreshed at least once before the queries run; and the "
    "exporter's ucloud_image_bucket_exporter_series_dropped"
)


def image_row_queries(wheres: Iterable[str]) -> list[str]:
    """Those of ``wheres`` ("panel / refId") of the image rows or the series budget panel."""
    titles = {SERIES_BUDGET_PANEL}.union(*(panels.row_titles(row) for row in IMAGE_ROWS))
    return [where for where in wheres if where.rsplit(" / ", 1)[0] in titles]
