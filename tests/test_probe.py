"""Multi-target /probe and region discovery (regions: auto)."""

from __future__ import annotations

import time

import pytest

from exporter.simulator import GOLDEN_PUBLIC_KEY, Fault
from tests.support.procs import config_for, golden_account, samples, value

pytestmark = pytest.mark.e2e  # every test here starts a process


def names(text: str) -> set[str]:
    return {name for name, _ in samples(text)}


def test_probe_one_target_without_self_metrics(simulator, start_exporter):
    exp = start_exporter(config_for(simulator.url, [golden_account()]))
    response = exp.get("/probe?account=golden&region=cn-sh2")
    assert response.status_code == 200
    m = samples(response.text)
    assert {dict(k[1])["region"] for k in m if k[0] == "ucloud_image_buckets"} == {"cn-sh2"}
    assert value(m, "ucloud_image_buckets", account="golden", region="cn-sh2", type="private") == 2
    assert value(m, "ucloud_image_bucket_up", account="golden", region="cn-sh2") == 1
    assert (
        value(m, "ucloud_image_bucket_scrape_duration_seconds", account="golden", region="cn-sh2")
        > 0
    )
    assert not {
        n
        for n in names(response.text)
        if n.startswith(
            ("process_", "python_", "ucloud_image_bucket_exporter_", "ucloud_image_bucket_config_")
        )
    }
    every = samples(exp.get("/probe?account=golden").text)
    assert {dict(k[1])["region"] for k in every if k[0] == "ucloud_image_bucket_up"} == {
        "cn-bj2",
        "cn-sh2",
        "hk",
    }


def test_probe_and_metrics_share_single_flight(simulator, start_exporter):
    exp = start_exporter(
        config_for(
            simulator.url,
            [golden_account(regions=["cn-sh2"])],
            collect={"min_interval_seconds": 60},
            ucloud={"page_size": 100},
        )
    )
    simulator.reset_counts()
    exp.get()
    exp.get("/probe?account=golden&region=cn-sh2")
    assert simulator.request_count(action="GetImageBucketList") == 1


def test_regions_auto_discovers_and_keeps_last_list(simulator, start_exporter):
    cfg = config_for(
        simulator.url, [golden_account(regions="auto")], collect={"region_refresh_seconds": 1}
    )
    exp = start_exporter(cfg)
    m = samples(exp.get().text)
    ups = {dict(k[1])["region"]: v for k, v in m.items() if k[0] == "ucloud_image_bucket_up"}
    assert ups == {"cn-bj2": 1, "cn-sh2": 1, "hk": 1}  # one entry per region, not per zone
    assert value(m, "ucloud_image_bucket_region_discovery_success", account="golden") == 1
    assert value(m, "ucloud_image_bucket_region_discovery_regions", account="golden") == 3
    requests = "ucloud_image_bucket_account_api_requests_total"
    assert value(m, requests, account="golden", action="GetRegion") == 1
    assert not [k for k in m if ("region", "") in k[1] or ("project", "") in k[1]]
    assert exp.get("/probe?account=golden&region=hk").status_code == 200
    simulator.add_fault(Fault(retcode=150, message="service unavailable"), action="GetRegion")
    time.sleep(1.1)
    m = samples(exp.get().text)
    assert value(m, "ucloud_image_bucket_region_discovery_success", account="golden") == 0
    assert (
        value(
            m,
            "ucloud_image_bucket_account_api_errors_total",
            account="golden",
            action="GetRegion",
            reason="retcode_150",
        )
        == 2
    )  # the first try and one retry (retries: 1)
    ups = {dict(k[1])["region"]: v for k, v in m.items() if k[0] == "ucloud_image_bucket_up"}
    assert ups == {"cn-bj2": 1, "cn-sh2": 1, "hk": 1}  # the last known list keeps serving
    assert (
        value(
            m,
            "ucloud_image_bucket_region_discovery_last_success_timestamp_seconds",
            account="golden",
        )
        is not None
    )
    assert "region discovery failed, keeping 3 known regions" in exp.logs()


def test_region_permission_errors_reported_not_dropped(simulator, start_exporter):
    simulator.add_fault(
        Fault(retcode=293, message="zone permission error"), account=GOLDEN_PUBLIC_KEY, region="hk"
    )
    exp = start_exporter(config_for(simulator.url, [golden_account(regions="auto")]))
    m = samples(exp.get().text)
    assert value(m, "ucloud_image_bucket_up", account="golden", region="hk") == 0
    assert (
        value(
            m, "ucloud_image_bucket_error_info", account="golden", region="hk", reason="retcode_293"
        )
        == 1
    )
    assert value(m, "ucloud_image_bucket_up", account="golden", region="cn-bj2") == 1
