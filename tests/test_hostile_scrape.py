"""A hostile gateway against the real exporter process: no target costs another, answers on time.

The simulator serves a fleet file with quirks: a target that hangs for 60 s, one that floods
the exporter with 50,000-entry pages whatever ``Offset`` and ``Limit`` say, one with a lone
surrogate in a bucket name and zero values left out, and healthy ones beside them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from exporter.simulator import Simulator, fleet_from_dict
from tests.support import procs
from tests.support.procs import Exporter, config_for

pytestmark = pytest.mark.e2e  # every test here starts a process

PUBLIC, PRIVATE = "hostile-public-key", "hostile-private-key"
HEALTHY = ("cn-bj2", "cn-sh2", "hk", "sg")
HEALTHY_BUCKETS = 5
FLOOD = 50_000
QUIRKY: dict[str, Any] = {
    "hang": {"synthetic": 3, "quirks": {"delay_seconds": 60}},
    "flood": {"synthetic": FLOOD, "quirks": {"ignore_offset": True, "ignore_limit": True}},
    "odd": {
        "buckets": [
            {"name": "bad\ud800name", "type": "Private", "images": 4},
            {"name": "empty", "type": "Public", "images": 0},
        ],
        "quirks": {"omit_zero": True},
    },
}


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    regions = {r: {"synthetic": HEALTHY_BUCKETS} for r in HEALTHY}
    fleet = fleet_from_dict(
        {
            "accounts": [
                {"public_key": PUBLIC, "private_key": PRIVATE, "regions": {**regions, **QUIRKY}}
            ]
        }
    )
    with Simulator(fleet) as simulator:
        yield simulator


def start(sim: Simulator, tmp_path: Any, *quirky: str) -> Exporter:
    account = {
        "name": "acct",
        "public_key": PUBLIC,
        "private_key": PRIVATE,
        "regions": [*HEALTHY, *quirky],
    }
    return Exporter(
        tmp_path,
        config_for(
            sim.url, [account], ucloud={"page_size": 100, "timeout_seconds": 60, "retries": 0}
        ),
    )


def scrape(exp: Exporter, header: float) -> tuple[float, dict[tuple[str, frozenset[Any]], float]]:
    started = time.monotonic()
    response = exp.get("/metrics", headers={"X-Prometheus-Scrape-Timeout-Seconds": str(header)})
    seconds = time.monotonic() - started
    assert response.status_code == 200, response.text[:500]
    text = response.content.decode("utf-8")  # strictly valid UTF-8
    # The flood's 100,000 per-bucket lines are counted, not parsed (the parser is slow).
    lines = text.splitlines(keepends=True)
    flood = [line for line in lines if 'region="flood"' in line and 'bucket="' in line]
    assert len(flood) in (0, 2 * FLOOD)
    parsed = "".join(
        line for line in lines if not ('region="flood"' in line and 'bucket="' in line)
    )
    samples = {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(parsed)
        for s in family.samples
    }
    return seconds, samples


def value(
    samples: dict[tuple[str, frozenset[Any]], float], name: str, **labels: str
) -> float | None:
    found: float | None = procs.value(samples, name, account="acct", **labels)
    return found


def assert_healthy(samples: dict[tuple[str, frozenset[Any]], float]) -> None:
    for region in HEALTHY:
        assert value(samples, "ucloud_image_bucket_up", region=region) == 1, region
        counts = [
            value(samples, "ucloud_image_buckets", region=region, type=t)
            for t in ("private", "public")
        ]
        assert sum(c or 0 for c in counts) == HEALTHY_BUCKETS, region
        images = [
            k
            for k in samples
            if k[0] == "ucloud_image_bucket_images" and ("region", region) in k[1]
        ]
        assert len(images) == HEALTHY_BUCKETS, region


@pytest.mark.parametrize("header", [3.0, 10.0])
def test_a_hanging_target_costs_only_itself(sim: Simulator, tmp_path: Any, header: float) -> None:
    exp = start(sim, tmp_path, "hang")
    try:
        seconds, samples = scrape(exp, header)
        assert seconds < header
        assert_healthy(samples)
        assert value(samples, "ucloud_image_bucket_up", region="hang") == 0
        assert (
            value(samples, "ucloud_image_bucket_error_info", region="hang", reason="deadline") == 1
        )
    finally:
        assert exp.stop() == 0, exp.logs()


@pytest.mark.parametrize("header", [3.0, 10.0])
def test_a_flooding_target_costs_no_other_target(
    sim: Simulator, tmp_path: Any, header: float
) -> None:
    exp = start(sim, tmp_path, "flood")
    try:
        sim.reset_counts()
        for _ in range(2):
            seconds, samples = scrape(exp, header)
            assert seconds < header  # was: 9.8-10.5 s for a 10 s header
            assert_healthy(samples)  # was: every target failed ("collection overran")
            if value(samples, "ucloud_image_bucket_up", region="flood") == 1:
                assert (
                    sum(
                        value(samples, "ucloud_image_buckets", region="flood", type=t) or 0
                        for t in ("private", "public")
                    )
                    == FLOOD
                )
        assert sim.request_count(region="flood") <= 2  # one page holds all TotalCount says
        logs = exp.logs()
        assert "Traceback" not in logs
        assert "listing was inconsistent: oversized_page" in logs  # visible, not an error
    finally:
        assert exp.stop() == 0, exp.logs()


def test_odd_strings_and_omitted_zeros_render(sim: Simulator, tmp_path: Any) -> None:
    exp = start(sim, tmp_path, "odd")
    try:
        _, samples = scrape(exp, 10)  # was: 500 for every scrape (the writer's .encode())
        assert_healthy(samples)
        assert (
            value(
                samples,
                "ucloud_image_bucket_images",
                region="odd",
                bucket="bad\ufffdname",
                type="private",
            )
            == 4
        )
        # ImageCount: 0 left out: the bucket still counts, it just has no images series.
        assert value(samples, "ucloud_image_buckets", region="odd", type="public") == 1
        assert (
            value(
                samples, "ucloud_image_bucket_images", region="odd", bucket="empty", type="public"
            )
            is None
        )
        assert (
            value(
                samples,
                "ucloud_image_bucket_invalid_entries_total",
                region="odd",
                field="ImageCount",
            )
            == 1
        )
    finally:
        assert exp.stop() == 0, exp.logs()
