"""A reload storm against the real exporter: no upstream call, no growth (issue 20, finding 7)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import yaml

from exporter.simulator import Simulator
from tests.support.process import proc_stats
from tests.support.procs import (
    Exporter,
    config_for,
    golden_account,
    samples,
    scrape_until,
    value,
    wait_until,
)

pytestmark = pytest.mark.e2e  # every test here starts a process

RELOAD_TIME = "ucloud_image_bucket_config_last_reload_success_timestamp_seconds"
POSTS, SENDERS, SIGHUPS = 200, 4, 5
POOL = 16  # --web.max-requests


def storm(url: str, posts: int, senders: int) -> list[int]:
    """POST /-/reload ``posts`` times from ``senders`` threads at once; return the statuses."""
    statuses: list[int] = []
    lock = threading.Lock()

    def send(n: int) -> None:
        with httpx.Client(timeout=30) as client:
            for _ in range(n):
                status = client.post(url + "/-/reload").status_code
                with lock:
                    statuses.append(status)

    threads = [threading.Thread(target=send, args=(posts // senders,)) for _ in range(senders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return statuses


def sighup_and_wait(exp: Exporter) -> None:
    """Send SIGHUP and wait until the reload gauge says it was handled."""
    before = value(samples(exp.get().text), RELOAD_TIME)
    exp.proc.send_signal(signal.SIGHUP)
    assert wait_until(lambda: value(samples(exp.get().text), RELOAD_TIME) != before)


def storm_config(url: str, **ucloud: object) -> dict[str, Any]:
    """Two targets and UHub, scrapes served from the cache, ``ucloud`` settings added."""
    return config_for(
        url,
        [golden_account(regions=["cn-sh2", "hk"], uhub=True)],
        collect={"min_interval_seconds": 300},
        uhub={"refresh_seconds": 3600},
        ucloud=ucloud,
    )


def warm_exporter(
    simulator: Simulator, start_exporter: Callable[..., Exporter], cfg: dict[str, Any]
) -> Exporter:
    """Start the exporter with every target listed once, UHub refreshed once and one reload
    done (what it allocates once)."""
    exp = start_exporter(cfg, "--web.enable-lifecycle", "--web.max-requests", str(POOL))
    scrape_until(exp, "ucloud_uhub_up")
    assert storm(exp.url, 1, 1) == [200]
    return exp


def test_a_reload_storm_of_an_unchanged_config_costs_nothing(
    simulator: Simulator, start_exporter: Callable[..., Exporter]
) -> None:
    cfg = storm_config(simulator.url)
    exp = warm_exporter(simulator, start_exporter, cfg)
    before, asked = proc_stats(exp.pid), simulator.request_count()
    assert storm(exp.url, POSTS, SENDERS) == [200] * POSTS
    for _ in range(SIGHUPS):
        sighup_and_wait(exp)
    after = proc_stats(exp.pid)
    assert simulator.request_count() == asked  # was 2 UHub calls per reload
    assert after.threads <= before.threads + 2, (before, after)  # was +59
    assert after.fds <= before.fds + 8, (before, after)  # was +367
    assert after.rss_kib - before.rss_kib < 16 * 1024, (before, after)  # was +117 MiB
    m = samples(exp.get().text)
    assert value(m, "ucloud_image_bucket_up", account="golden", region="hk") == 1
    assert value(m, "ucloud_image_bucket_config_last_reload_successful") == 1
    # A changed file is still taken at once.
    cfg["accounts"] = [golden_account(regions=["cn-sh2"], uhub=True)]
    (exp.workdir / "config.yaml").write_text(yaml.safe_dump(cfg))
    assert httpx.post(exp.url + "/-/reload").status_code == 200
    m = samples(exp.get().text)
    assert value(m, "ucloud_image_bucket_up", account="golden", region="hk") is None
    assert value(m, "ucloud_image_bucket_up", account="golden", region="cn-sh2") == 1
    assert simulator.request_count() == asked  # cn-sh2's cached result and UHub are kept


def test_reloads_that_replace_the_api_client_leave_no_growth(
    simulator: Simulator, start_exporter: Callable[..., Exporter]
) -> None:
    """A new pool size needs a new API client: the old one's memory must come back (its SSL
    context sat in a reference cycle: +58 MiB over 100 such reloads) and its cache stays."""
    exp = warm_exporter(simulator, start_exporter, storm_config(simulator.url))
    path = exp.workdir / "config.yaml"
    for n in (4, 5):  # each pool size once before measuring
        path.write_text(yaml.safe_dump(storm_config(simulator.url, max_concurrent_requests=n)))
        assert httpx.post(exp.url + "/-/reload").status_code == 200
    before, asked = proc_stats(exp.pid), simulator.request_count()
    with httpx.Client(timeout=30) as client:
        for i in range(100):
            cfg = storm_config(simulator.url, max_concurrent_requests=4 + i % 2)
            path.write_text(yaml.safe_dump(cfg))
            assert client.post(exp.url + "/-/reload").status_code == 200
    after = proc_stats(exp.pid)
    assert after.threads <= before.threads + 2 and after.fds <= before.fds + 8, (before, after)
    assert after.rss_kib - before.rss_kib < 16 * 1024, (before, after)
    m = samples(exp.get().text)
    assert value(m, "ucloud_image_bucket_up", account="golden", region="hk") == 1
    assert value(m, "ucloud_uhub_up", account="golden") == 1
    assert simulator.request_count() == asked  # results, regions and UHub schedules kept
