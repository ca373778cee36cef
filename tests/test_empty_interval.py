"""A target found empty is listed at most every ``collect.empty_interval_seconds`` (issue 21:
cost grows with what exists, not with projects x regions).

In process: the app of a Runtime on a config file, against the simulator on loopback. The
golden account's ``hk`` holds no bucket; ``cn-sh2`` holds three (two pages at page_size 2).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from exporter import config
from exporter.config import ConfigError
from exporter.runtime import Runtime
from exporter.simulator import GOLDEN_PUBLIC_KEY, Bucket, Fault, Simulator
from exporter.web.app import App
from tests.support.asgi import Scraper, runtime_on
from tests.support.held import LISTING, Seen, config_file, seen
from tests.support.procs import config_for, golden_account, wait_until

Start = Callable[..., tuple[Scraper, Runtime, Path]]


@pytest.fixture
def start(simulator: Simulator, tmp_path: Path) -> Iterator[Start]:
    """Build an app listing the golden account's ``regions`` with these ``collect`` settings;
    its runtime is closed at teardown."""
    with contextlib.ExitStack() as stack:

        def build(regions: list[str], **collect: Any) -> tuple[Scraper, Runtime, Path]:
            cfg = config_for(simulator.url, [golden_account(regions=regions)], collect=collect)
            runtime, path = stack.enter_context(runtime_on(tmp_path, cfg))
            return Scraper(App(runtime)), runtime, path

        yield build


@pytest.mark.e2e
def test_an_empty_target_is_listed_once_within_the_interval(simulator, start):
    app, _, _ = start(["hk"], empty_interval_seconds=600)
    first = seen(app, simulator, "hk")
    assert (first.up, first.listings, first.buckets) == (1, 1, frozenset())
    assert first.last_success is not None
    for _ in range(4):
        later = seen(app, simulator, "hk")
        assert (later.up, later.last_success, later.listings) == (1, first.last_success, 1)


@pytest.mark.e2e
def test_an_empty_target_is_listed_again_after_the_interval(simulator, start):
    app, _, _ = start(["hk"], empty_interval_seconds=1)
    first = seen(app, simulator, "hk")
    assert seen(app, simulator, "hk").listings == first.listings == 1  # within the second
    time.sleep(1.1)
    again = seen(app, simulator, "hk")
    assert (again.up, again.listings) == (1, 2)
    assert first.last_success is not None and again.last_success is not None
    assert again.last_success > first.last_success


@pytest.mark.e2e
def test_a_bucket_added_to_an_empty_target_appears_within_the_interval(simulator, start):
    app, _, _ = start(["hk"], empty_interval_seconds=1)
    assert seen(app, simulator, "hk").buckets == frozenset()
    added = time.monotonic()
    simulator.fleet.add_bucket(GOLDEN_PUBLIC_KEY, "hk", Bucket("golden/new", "Private", 4, 1))
    assert seen(app, simulator, "hk").buckets == frozenset()  # held: not listed yet
    answers: list[Seen] = []

    def shown() -> bool:
        answers.append(seen(app, simulator, "hk"))
        return bool(answers[-1].buckets)

    assert wait_until(shown, timeout=3)
    assert time.monotonic() - added < 1.5  # the interval, and a poll's slack
    assert (answers[-1].buckets, answers[-1].listings) == (frozenset({"golden/new"}), 2)
    assert seen(app, simulator, "hk").listings == 3  # no longer empty: listed every scrape


@pytest.mark.e2e
def test_a_target_with_buckets_is_listed_every_scrape(simulator, start):
    app, _, _ = start(["cn-sh2", "hk"], empty_interval_seconds=600, min_interval_seconds=0)
    for scrape in range(1, 4):
        assert seen(app, simulator, "cn-sh2").listings == 2 * scrape  # two pages each time
        assert simulator.request_count(action=LISTING, region="hk") == 1


@pytest.mark.e2e
def test_a_failed_listing_is_never_held(simulator, start):
    app, _, _ = start(["hk"], empty_interval_seconds=600)
    simulator.add_fault(Fault(retcode=5000, times=2), region="hk", action=LISTING)
    failed = seen(app, simulator, "hk")  # the request and its one retry fail
    assert (failed.up, failed.last_success, failed.listings) == (0, None, 2)
    retried = seen(app, simulator, "hk")  # the next scrape lists again
    assert (retried.up, retried.listings) == (1, 3)
    held = seen(app, simulator, "hk")  # now found empty: held
    assert (held.up, held.last_success, held.listings) == (1, retried.last_success, 3)


@pytest.mark.e2e
def test_zero_lists_every_scrape_and_a_reload_to_600_holds(simulator, start):
    app, runtime, path = start(["hk"], empty_interval_seconds=0)
    for scrape in range(1, 4):
        assert seen(app, simulator, "hk").listings == scrape
    cfg = yaml.safe_load(path.read_text())
    cfg["collect"]["empty_interval_seconds"] = 600
    path.write_text(yaml.safe_dump(cfg))
    assert runtime.reload() is True
    assert [seen(app, simulator, "hk").listings for _ in range(3)] == [3, 3, 3]


@pytest.mark.e2e
def test_a_probe_sees_the_held_result(simulator, start):
    app, _, _ = start(["hk"], empty_interval_seconds=600)
    first = seen(app, simulator, "hk")
    for probe in (True, False, True):
        later = seen(app, simulator, "hk", probe=probe)
        assert (later.up, later.last_success, later.listings) == (1, first.last_success, 1)


@pytest.mark.e2e
def test_an_unchanged_reload_keeps_the_held_result(simulator, start):
    app, runtime, path = start(["hk"], empty_interval_seconds=600)
    first = seen(app, simulator, "hk")
    path.write_text(path.read_text())
    assert runtime.reload() is True
    later = seen(app, simulator, "hk")
    assert (later.up, later.last_success, later.listings) == (1, first.last_success, 1)


@pytest.mark.e2e
def test_the_longer_of_min_interval_and_the_empty_interval_holds(simulator, start):
    app, _, _ = start(["hk"], empty_interval_seconds=1.5, min_interval_seconds=0.5)
    assert seen(app, simulator, "hk").listings == 1
    time.sleep(0.8)  # past min_interval, within the empty interval
    assert seen(app, simulator, "hk").listings == 1
    time.sleep(0.9)
    assert seen(app, simulator, "hk").listings == 2


@pytest.mark.parametrize("bad", [-1, 86401, "soon", True])
def test_out_of_range_is_one_line_with_the_key_path(tmp_path, bad):
    path = config_file(tmp_path, empty_interval_seconds=bad)
    with pytest.raises(ConfigError) as info:
        config.load(path, env={})
    assert info.value.problems == [
        f"{path}: collect.empty_interval_seconds: must be a number between 0 and 86400, got {bad!r}"
    ]
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("good", [0, 0.5, 86400])
def test_the_range_ends_are_accepted(tmp_path, good):
    path = config_file(tmp_path, empty_interval_seconds=good)
    assert config.load(path, env={}).collect.empty_interval_seconds == good


def test_the_default_is_600_seconds(tmp_path):
    assert config.load(config_file(tmp_path), env={}).collect.empty_interval_seconds == 600
