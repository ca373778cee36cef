"""A reload keeps what it knew (issue 20): discovered regions, last results, caches, detached
listings; removed targets' counters stay gone; concurrent reloads share one rebuild.

In process: a Runtime on a config file against the simulator on loopback.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from exporter import config
from exporter.config import Config
from exporter.results import Result
from exporter.runtime import Runtime
from exporter.simulator import GOLDEN_PROJECT, Fault, Simulator
from exporter.stats import Stats
from exporter.web.app import App
from tests.support.asgi import call, runtime_on
from tests.support.procs import config_for, golden_account, value, wait_until


def ups(results: list[Result]) -> list[tuple[str, bool, str | None]]:
    """Return (region, ok, reason) of each result."""
    return [(r.region, r.ok, r.error.reason if r.error else None) for r in results]


def rewrite(path: Path, cfg: dict[str, Any]) -> None:
    """Write ``cfg`` as the config file at ``path``."""
    path.write_text(yaml.safe_dump(cfg))


def detach(runtime: Runtime, simulator: Simulator, *, delay: float) -> None:
    """List cn-sh2 once, then start its next listing, each page ``delay`` s late, and leave
    it running (detached) while a scrape serves the last result."""
    assert ups(runtime.engine.collect(timeout=10)) == [("cn-sh2", True, None)]
    simulator.add_fault(Fault(delay=delay), region="cn-sh2")
    assert ups(runtime.engine.collect(timeout=0.1)) == [("cn-sh2", True, None)]


@pytest.mark.e2e
def test_an_unchanged_reload_keeps_the_detached_listing_and_the_last_result(
    simulator: Simulator, tmp_path: Path
) -> None:
    """Finding 6: was up 0 reason="deadline" right after the reload."""
    cfg = config_for(simulator.url, [golden_account(regions=["cn-sh2"])])
    with runtime_on(tmp_path, cfg) as (runtime, _):
        detach(runtime, simulator, delay=1.0)
        asked = simulator.request_count(region="cn-sh2")
        assert runtime.reload() is True
        assert ups(runtime.engine.collect(timeout=0.2)) == [("cn-sh2", True, None)]
        assert simulator.request_count(region="cn-sh2") == asked  # no second listing started


@pytest.mark.e2e
def test_a_listing_goes_on_through_a_reload_that_changes_timeouts(
    simulator: Simulator, tmp_path: Path
) -> None:
    """Timeouts, retries and page size are taken by the client in place: no request is cut."""
    cfg = config_for(simulator.url, [golden_account(regions=["cn-sh2"])])
    with runtime_on(tmp_path, cfg) as (runtime, path):
        detach(runtime, simulator, delay=0.5)  # 2 pages: about 1 s
        cfg["ucloud"] = {**cfg["ucloud"], "timeout_seconds": 5, "retries": 0}
        rewrite(path, cfg)
        assert runtime.reload() is True
        simulator.clear_faults()
        results = runtime.engine.collect(timeout=5)  # waits for the same listing to end
        assert ups(results) == [("cn-sh2", True, None)]
        assert simulator.request_count(region="cn-sh2") == 4  # 2 pages, twice: none repeated


@pytest.mark.e2e
def test_cached_results_cost_no_call_after_a_reload_until_the_account_changes(
    simulator: Simulator, tmp_path: Path
) -> None:
    """Finding 6: with min_interval_seconds 300 the first scrape after a reload relisted all."""
    cfg = config_for(simulator.url, [golden_account()], collect={"min_interval_seconds": 300})
    with runtime_on(tmp_path, cfg) as (runtime, path):
        assert all(r.ok for r in runtime.engine.collect(timeout=10))
        asked = simulator.request_count()
        assert runtime.reload() is True  # the same file
        assert all(r.ok for r in runtime.engine.collect(timeout=10))
        assert simulator.request_count() == asked
        cfg["collect"]["max_data_age_seconds"] = 60  # changes no listing
        rewrite(path, cfg)
        assert runtime.reload() is True
        assert all(r.ok for r in runtime.engine.collect(timeout=10))
        assert simulator.request_count() == asked
        rewrite(path, {**cfg, "accounts": [golden_account(bucket_type="User")]})
        assert runtime.reload() is True  # the account's listings change: they start fresh
        assert all(r.ok for r in runtime.engine.collect(timeout=10))
        assert simulator.request_count(action="GetImageBucketList") == 2 * asked


@pytest.mark.e2e
def test_a_reload_keeps_discovered_regions_while_get_region_fails(
    simulator: Simulator, tmp_path: Path
) -> None:
    """Finding 5: was 0 targets and /probe 400 "not configured or discovered"."""
    cfg = config_for(simulator.url, [golden_account(regions="auto")])
    with runtime_on(tmp_path, cfg) as (runtime, path):
        app = App(runtime)
        assert call(app, "/probe", query="account=golden&region=hk").status == 200
        simulator.add_fault(Fault(retcode=150), action="GetRegion")
        cfg["collect"] = {**cfg["collect"], "region_refresh_seconds": 1}  # due at once
        rewrite(path, cfg)
        assert runtime.reload() is True
        time.sleep(1.1)  # the discovered list is now due for a refresh, which fails
        answer = call(app, "/probe", query="account=golden&region=hk")
        assert answer.status == 200, answer.text
        assert simulator.request_count(action="GetRegion") >= 2  # the refresh was tried
        assert {t.region for t in runtime.engine.targets} == {"cn-bj2", "cn-sh2", "hk"}
        assert value(answer.samples(), "ucloud_image_bucket_up", account="golden", region="hk") == 1


@pytest.mark.e2e
def test_a_removed_target_stays_gone_from_the_counters_while_its_listing_drains(
    simulator: Simulator, tmp_path: Path
) -> None:
    """Finding 8: the old listing's requests re-added ``region="gone"`` after the reload."""
    cfg = config_for(simulator.url, [golden_account(regions=["cn-bj2", "cn-sh2"])])
    with runtime_on(tmp_path, cfg) as (runtime, path):
        simulator.add_fault(Fault(delay=0.3), region="cn-bj2")  # 3 pages: about 0.9 s
        runtime.engine.collect(timeout=0.1)  # cn-bj2's listing goes on, detached
        rewrite(path, config_for(simulator.url, [golden_account(regions=["cn-sh2"])]))
        assert runtime.reload() is True
        asked = simulator.request_count(region="cn-bj2")
        time.sleep(1.5)  # longer than the old listing had left: an absence has no event
        stats = runtime.engine.stats.snapshot()
        gone = [
            k for table in (stats.requests, stats.last_success) for k in table if k[1] == "cn-bj2"
        ]
        assert gone == []
        assert simulator.request_count(region="cn-bj2") == asked  # cancelled, not drained


def test_stats_drop_what_an_old_observer_records_after_the_target_was_removed() -> None:
    """Finding 8 at its root: forget_unless ran, then an old request re-added the key."""
    stats = Stats()
    account = golden_account(regions=["cn-bj2", "cn-sh2"])
    parse = lambda regions: config.parse(  # noqa: E731
        {"accounts": [{**account, "regions": regions}]}, env={}
    )
    bj2, sh2 = ("golden", GOLDEN_PROJECT, "cn-bj2"), ("golden", GOLDEN_PROJECT, "cn-sh2")
    old = stats.observer("golden", bj2)
    stats.forget_unless(parse(["cn-sh2"]))
    old("GetImageBucketList", None)
    old("GetImageBucketList", "timeout")
    stats.record(bj2, ok=True, listing=None)
    stats.observer("golden", sh2)("GetImageBucketList", None)
    copy = stats.snapshot()
    assert list(copy.requests) == [(*sh2, "GetImageBucketList")]
    assert not copy.errors and not copy.last_success
    stats.forget_unless(parse(["cn-bj2", "cn-sh2"]))  # wanted again: counted again
    old("GetImageBucketList", None)
    assert stats.snapshot().requests[(*bj2, "GetImageBucketList")] == 1


def test_concurrent_reloads_share_one_pending_rebuild(tmp_path: Path) -> None:
    """Reload storms: N callers arriving while one reload runs cost one more load, not N."""
    path = tmp_path / "config.yaml"
    rewrite(path, config_for("http://127.0.0.1:9/", [golden_account()]))
    loads, release, entered = [0], threading.Event(), threading.Event()

    def load() -> Config:
        loads[0] += 1
        if loads[0] == 2:  # the first reload holds the others back until they all wait
            entered.set()
            assert release.wait(10)
        return config.load(path)

    runtime = Runtime(load)
    try:
        answers: list[bool] = []
        first = threading.Thread(target=lambda: answers.append(runtime.reload()))
        first.start()
        assert entered.wait(10)
        others = [
            threading.Thread(target=lambda: answers.append(runtime.reload())) for _ in range(20)
        ]
        for t in others:
            t.start()
        time.sleep(0.3)  # let them all queue behind the running reload
        release.set()
        for t in [first, *others]:
            t.join(10)
        assert answers == [True] * 21
        assert loads[0] <= 3  # the start, the running reload, one for everyone who waited
    finally:
        runtime.close()


@pytest.mark.e2e
def test_a_changed_ucloud_section_gets_a_new_client_and_keeps_the_results(
    simulator: Simulator, tmp_path: Path
) -> None:
    """A new pool size or timeout needs a new client; the results it listed stay valid."""
    cfg = config_for(simulator.url, [golden_account()], collect={"min_interval_seconds": 300})
    with runtime_on(tmp_path, cfg) as (runtime, path):
        engine = runtime.engine
        assert all(r.ok for r in engine.collect(timeout=10))
        asked, threads = simulator.request_count(), threading.active_count()
        cfg["ucloud"] = {**cfg["ucloud"], "timeout_seconds": 3, "max_concurrent_requests": 2}
        rewrite(path, cfg)
        assert runtime.reload() is True
        assert runtime.engine is engine and engine.config.ucloud.max_concurrent_requests == 2
        assert all(r.ok for r in engine.collect(timeout=10))
        assert simulator.request_count() == asked
        assert threading.active_count() <= threads  # no engine, loop or retiring thread more
        rewrite(path, {**cfg, "collect": {"empty_interval_seconds": 0}})  # the new client lists
        assert runtime.reload() is True
        assert all(r.ok for r in engine.collect(timeout=10))
        assert simulator.request_count() == 2 * asked


@pytest.mark.e2e
def test_a_removed_account_leaves_no_series_behind(simulator: Simulator, tmp_path: Path) -> None:
    other = golden_account(name="other", regions=["cn-sh2"])
    cfg = config_for(simulator.url, [golden_account(regions=["hk"]), other])
    with runtime_on(tmp_path, cfg) as (runtime, path):
        app = App(runtime)
        assert 'account="other"' in call(app).text
        rewrite(path, {**cfg, "accounts": [golden_account(regions=["hk"])]})
        assert runtime.reload() is True
        page = call(app).text
        assert 'account="other"' not in page  # nor its API concurrency limit
        assert (
            'ucloud_image_bucket_up{account="golden",project="org-golden",region="hk"} 1.0' in page
        )


@pytest.mark.e2e
def test_a_scrape_begun_before_a_reload_lists_no_removed_target(
    simulator: Simulator, tmp_path: Path
) -> None:
    """A scrape begun before a reload must not list (nor cache) a target the reload removed
    once the reload is in force: its discovered account waits on GetRegion while the reload
    runs (the fixed account's listing started before it, and is cancelled by it)."""

    def only_bj2(body: dict[str, Any]) -> dict[str, Any]:
        return {**body, "Regions": [r for r in body["Regions"] if r["Region"] == "cn-bj2"]}

    simulator.add_fault(Fault(delay=1.0, mutate=only_bj2), action="GetRegion")
    fixed = golden_account(name="fixed", regions=["hk"])
    cfg = config_for(simulator.url, [golden_account(regions="auto"), fixed])
    with runtime_on(tmp_path, cfg) as (runtime, path):
        seen: list[list[Result]] = []
        scrape = threading.Thread(target=lambda: seen.append(runtime.engine.collect(timeout=10)))
        scrape.start()
        assert wait_until(lambda: simulator.request_count(action="GetRegion") == 1)
        rewrite(path, {**cfg, "accounts": [golden_account(regions="auto")]})
        assert runtime.reload() is True  # while the scrape waits for GetRegion
        scrape.join(10)
        outcomes = [(r.account, r.region, r.ok) for r in seen[0]]
        assert outcomes[0] == ("golden", "cn-bj2", True) and outcomes[1][:2] == ("fixed", "hk")
        assert simulator.request_count(action="GetImageBucketList", region="hk") <= 1
        assert [(t.account.name, t.region) for t in runtime.engine.targets] == [
            ("golden", "cn-bj2")
        ]
        assert [key[0] for key in runtime.engine._slots] == ["golden"]  # nothing of fixed kept
        assert "fixed" not in {key[0] for key in runtime.stats.snapshot().last_success}
