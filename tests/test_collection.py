"""What one collection exposes, through the ASGI app in process, against the simulator.

Failures and recoveries, wrong keys, an unreachable API, the min_interval cache, bucket
filters and names that need escaping: all of it is engine and app logic, so the app is called
directly (tests.support.asgi.py). tests/test_integration.py keeps what needs the process.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from exporter.simulator import GOLDEN_PUBLIC_KEY, Fault
from exporter.web.app import App
from tests.support.asgi import Scraper, runtime_on
from tests.support.procs import config_for, golden_account, samples, value


@pytest.fixture
def start_app(tmp_path: Path) -> Iterator[Callable[[dict[str, Any]], Scraper]]:
    """Build apps on a config; their runtimes are closed at teardown."""
    with contextlib.ExitStack() as stack:

        def start(cfg: dict[str, Any]) -> Scraper:
            runtime, _ = stack.enter_context(runtime_on(tmp_path, cfg))
            return Scraper(App(runtime))

        yield start


@pytest.mark.e2e
def test_weird_bucket_names_round_trip(simulator, start_app):
    exp = start_app(config_for(simulator.url, [golden_account()]))
    names = {
        dict(labels)["bucket"]
        for name, labels in samples(exp.get().text)
        if name == "ucloud_image_bucket_images"
    }
    expected = {
        b.name
        for region in ("cn-bj2", "cn-sh2")
        for b in simulator.fleet.account(GOLDEN_PUBLIC_KEY).regions[region]
    }
    assert names == expected
    assert any("\n" in n for n in names) and any('"' in n for n in names)
    assert any(len(n) >= 200 for n in names) and "镜像仓库/测试" in names


@pytest.mark.e2e
def test_nothing_stale_after_recovery_and_failure(simulator, start_app):
    exp = start_app(config_for(simulator.url, [golden_account(regions=["cn-sh2"])]))
    assert (
        value(
            samples(exp.get().text),
            "ucloud_image_buckets",
            account="golden",
            region="cn-sh2",
            type="private",
        )
        == 2
    )
    simulator.add_fault(Fault(http_status=503))
    m = samples(exp.get().text)
    assert value(m, "ucloud_image_bucket_up", account="golden", region="cn-sh2") == 0
    assert not [k for k in m if k[0] in ("ucloud_image_buckets", "ucloud_image_bucket_images")]
    assert (
        value(
            m,
            "ucloud_image_bucket_api_errors_total",
            account="golden",
            region="cn-sh2",
            action="GetImageBucketList",
            reason="http_503",
        )
        == 2
    )  # retries: 1


@pytest.mark.e2e
def test_wrong_keys_and_project_are_reported(simulator, start_app):
    accounts = [
        golden_account(name="badsig", private_key="wrong", regions=["hk"]),
        golden_account(name="nouser", public_key="nobody", regions=["hk"]),
        golden_account(name="noproj", project_id="org-nope", regions=["hk"]),
    ]
    exp = start_app(config_for(simulator.url, accounts))
    m = samples(exp.get().text)
    for account, code in (("badsig", 171), ("nouser", 172), ("noproj", 292)):
        assert value(m, "ucloud_image_bucket_up", account=account, region="hk") == 0
        assert (
            value(
                m,
                "ucloud_image_bucket_api_errors_total",
                account=account,
                region="hk",
                action="GetImageBucketList",
                reason=f"retcode_{code}",
            )
            == 1
        )  # no retry


def test_unreachable_api(start_app):
    exp = start_app(config_for("http://127.0.0.1:9/", [golden_account(regions=["hk"])]))
    m = samples(exp.get().text)
    assert value(m, "ucloud_image_bucket_up", account="golden", region="hk") == 0
    assert (
        value(
            m,
            "ucloud_image_bucket_api_errors_total",
            account="golden",
            region="hk",
            action="GetImageBucketList",
            reason="transport",
        )
        == 2
    )


@pytest.mark.e2e
def test_min_interval_serves_from_memory(simulator, start_app):
    exp = start_app(
        config_for(
            simulator.url,
            [golden_account(regions=["cn-sh2"])],
            collect={"min_interval_seconds": 60},
        )
    )
    first = samples(exp.get().text)
    simulator.reset_counts()
    second = samples(exp.get().text)
    assert simulator.request_count() == 0
    key = {"account": "golden", "region": "cn-sh2"}
    name = "ucloud_image_bucket_last_success_timestamp_seconds"
    assert value(first, name, **key) == value(second, name, **key) is not None


@pytest.mark.e2e
def test_include_exclude_filters(simulator, start_app):
    exp = start_app(
        config_for(
            simulator.url,
            [golden_account(regions=["cn-sh2"])],
            collect={"include_buckets": ["golden/.*"], "exclude_buckets": ["golden/beta"]},
        )
    )
    m = samples(exp.get().text)
    names = {dict(k[1])["bucket"] for k in m if k[0] == "ucloud_image_bucket_images"}
    assert names == {"golden/alpha", "golden/gamma"}
    assert value(m, "ucloud_image_buckets", account="golden", region="cn-sh2", type="public") == 0
