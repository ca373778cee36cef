"""End to end with real parts: exporter + simulator, Prometheus with the shipped rules, and
Alertmanager.

* Every dashboard query returns data, no range query touches more than a few series per
  target (the fleet has far more buckets than that), and an auth failure reaches
  Alertmanager.
* A dead exporter: the dashboard's health panels say "down", none shows a healthy zero.
* An HA pair (two exporters, same config, one job, a ``replica`` label): every dashboard
  total and every recording rule equals the single-exporter value.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from exporter import metrics
from exporter.simulator import (
    GOLDEN_PROJECT,
    GOLDEN_PUBLIC_KEY,
    Bucket,
    DockerImage,
    DockerTag,
    Fault,
    HostImage,
    eol_date,
)
from tests.support import panels
from tests.support.faults import malformed_entry
from tests.support.monitoring import (
    DISCOVERY_PANEL,
    IMAGE_ROWS_NEED,
    RANGE,
    UHUB_NEEDS,
    dashboard_results,
    image_row_queries,
    rule_files,
    series_touched,
    settle,
    uhub_queries,
    values,
)
from tests.support.procs import config_for, golden_account
from tests.support.prometheus import AlertmanagerServer, PrometheusServer
from tests.support.temporary import assuming_account, sts_config, sts_simulator

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parent.parent
BULK = 200  # extra buckets in one region: per-bucket series outnumber targets 60 to 1
SERIES_PER_TARGET = 4  # a range query may touch this many series per target, at most
# ...plus, for families that do not grow with the fleet, their fixed number of series: the
# series budget's gauge has one per droppable family of the catalogue.
PER_EXPORTER = {metrics.SERIES_DROPPED.name: sum(1 for f in metrics.CATALOGUE if f.budget)}
JOB = "ucloud-image-exporter"


def scrape_config(targets: list[tuple[str, dict[str, str]]], alertmanager: str = "") -> str:
    """A 1s-scrape Prometheus config: one exporter job with ``targets`` (address, labels)."""
    config: dict[str, Any] = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "rule_files": ["alerts.yml", "recording.yml"],
        "scrape_configs": [
            {
                "job_name": JOB,
                "static_configs": [
                    {"targets": [address], "labels": labels} for address, labels in targets
                ],
            }
        ],
    }
    if alertmanager:
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]}
    return yaml.safe_dump(config)


def bump_bucket(simulator, region: str, name: str, extra: int) -> None:
    """Make one bucket's image count grow, as a push to the registry would."""
    (old,) = [b for b in simulator.fleet.buckets(GOLDEN_PUBLIC_KEY, region) if b.name == name]
    simulator.fleet.remove_bucket(GOLDEN_PUBLIC_KEY, region, name)
    simulator.fleet.add_bucket(
        GOLDEN_PUBLIC_KEY,
        region,
        Bucket(old.name, old.type, old.image_count + extra, old.create_time, old.shared),
    )


def test_dashboard_queries_scale_and_alert_delivery(simulator, start_exporter, tmp_path):
    for i in range(BULK):
        simulator.fleet.add_bucket(
            GOLDEN_PUBLIC_KEY, "hk", Bucket(f"bulk/{i:03d}", "Private", i, 1_600_000_000 + i)
        )
    # one entry with a malformed field, so the "invalid entries" panel has data too
    simulator.add_fault(malformed_entry(), region="hk")
    exp = start_exporter(
        config_for(
            simulator.url,
            [golden_account(uhub=True)],
            ucloud={"page_size": 100, "retries": 0},
            uhub={"tag_counts": "all"},
        )
    )
    with (
        AlertmanagerServer(
            "route: {receiver: sink}\nreceivers: [{name: sink}]\n", workdir=tmp_path / "am"
        ) as am,
        PrometheusServer(
            scrape_config([(f"127.0.0.1:{exp.port}", {})], f"127.0.0.1:{am.port}"),
            rule_files("alerts.yml", "recording.yml"),
            workdir=tmp_path / "prom",
            extra_args=["--rules.alert.resend-delay=1s"],
        ) as prom,
    ):
        prom.wait_for(f'up{{job="{JOB}"}} == 1', timeout=30)
        start = time.time()
        time.sleep(RANGE + 2)
        bump_bucket(simulator, "cn-sh2", "golden/gamma", 40)
        simulator.add_fault(
            Fault(retcode=171, message="signature error"),
            account=GOLDEN_PUBLIC_KEY,
            region="cn-bj2",
        )
        alerts = am.wait_for_alerts(
            lambda found: any(
                a["labels"]["alertname"] == "UCloudImageApiAuthErrors" for a in found
            ),
            timeout=60,
        )
        (auth,) = [a for a in alerts if a["labels"]["alertname"] == "UCloudImageApiAuthErrors"]
        assert auth["labels"]["severity"] == "critical"
        assert auth["labels"]["account"] == "golden" and auth["labels"]["region"] == "cn-bj2"
        assert auth["labels"]["reason"] == "retcode_171"
        assert "golden" in auth["annotations"]["description"]
        assert auth["annotations"]["runbook_url"].endswith("runbooks.md#ucloudimageapiautherrors")
        at = settle(
            prom,
            'ucloud_image_bucket_images{bucket="golden/gamma"} == 290',
            "instance_account_project_region:ucloud_image_bucket_invalid_entries:increase5m",
            "ucloud_uhub_up == 1",
        )
        results = dashboard_results(prom, at)
        # The golden account has a configured project and long-lived keys: no project
        # discovery, no credentials expiry (test_discovery_and_credentials_panel has them).
        # Nor docker_images / host_images: dashboard_results() leaves their rows out, and
        # test_image_rows_have_data checks them.
        empty = [
            where
            for where, result in results.items()
            if not result and not where.startswith(f"{DISCOVERY_PANEL} / ")
        ]
        uhub_empty = uhub_queries(empty)
        assert not uhub_empty, f"UHub queries without data; they need {UHUB_NEEDS}:\n" + (
            "\n".join(uhub_empty)
        )
        assert not empty, "queries without data:\n" + "\n".join(empty)
        assert "UCloudImageExporterDown" not in {a["labels"]["alertname"] for a in am.alerts()}

        # Scale: count the series every range query's selectors touch over the whole run.
        targets = len(prom.series("ucloud_image_bucket_up", start, at))
        buckets = len(prom.series("ucloud_image_bucket_images", start, at))
        assert targets == 3 and buckets > BULK
        touched = {
            query.where: series_touched(prom, query.expr, start, at)
            for query in panels.queries()
            if not query.instant
        }
        print(
            f"\ntargets={targets} per-bucket series={buckets}; series per range query:",
            *sorted(touched.items()),
            sep="\n  ",
        )
        exprs = {query.where: query.expr for query in panels.queries()}
        too_many = {
            w: n
            for w, n in touched.items()
            if n
            > SERIES_PER_TARGET * targets
            + sum(k for name, k in PER_EXPORTER.items() if name in exprs[w])
        }
        assert not too_many, too_many
        for query in panels.queries():
            if query.where in results and query.instant and query.expr.startswith("topk("):
                k = int(query.expr[5:].split(",", 1)[0])
                assert 0 < len(results[query.where]) <= k, query.where


def test_discovery_and_credentials_panel(start_exporter, tmp_path):
    """An account on an assumed role whose projects are discovered (no project_id): the
    panel's every column has data, and the project variable offers the discovered project."""
    with sts_simulator(lifetime=600) as (sim, _):
        account = assuming_account("golden", regions=["cn-bj2"])
        del account["project_id"]
        config = sts_config(sim, [account])
        config["collect"] = {"empty_interval_seconds": 0}
        exp = start_exporter(config)
        with PrometheusServer(
            scrape_config([(f"127.0.0.1:{exp.port}", {})]),
            rule_files("alerts.yml", "recording.yml"),
            workdir=tmp_path / "prom",
        ) as prom:
            at = settle(
                prom,
                "ucloud_image_bucket_project_discovery_success == 1",
                "ucloud_image_bucket_credentials_expiry_timestamp_seconds",
                f'ucloud_image_bucket_up{{project="{GOLDEN_PROJECT}"}} == 1',
            )
            results = dashboard_results(prom, at)
            for where, result in results.items():
                if where.startswith(f"{DISCOVERY_PANEL} / "):
                    assert [s["metric"]["account"] for s in result] == ["golden"], where
            assert values(results[f"{DISCOVERY_PANEL} / A"]) == [1]
            assert values(results[f"{DISCOVERY_PANEL} / B"]) >= [1]
            assert 0 < values(results[f"{DISCOVERY_PANEL} / D"])[0] <= 600
            projects = {s["metric"]["project"] for s in results["variable project"]}
            assert GOLDEN_PROJECT in projects


# NOTE: needs the background sources of issue 22 (images inside buckets, custom host images)
# and the series budget's ucloud_image_bucket_exporter_series_dropped, which this branch does
# not have yet: until they are merged this test fails (settle() times out waiting for
# ucloud_image_bucket_docker_images_up). It is deliberately neither skipped nor xfailed.
def test_image_rows_have_data(simulator, start_exporter, tmp_path):
    """With docker_images and host_images on, every query of the rows *Images inside buckets*
    and *Custom host images* (and the series budget panel) returns data, and the quota and
    end-of-life alerts reach Prometheus with the real exporter's labels."""
    now = int(time.time())
    account = simulator.fleet.account(GOLDEN_PUBLIC_KEY)
    assert account is not None
    beta, gamma = [
        b for b in account.regions["cn-sh2"] if b.name in ("golden/beta", "golden/gamma")
    ]
    beta.docker_images = [
        DockerImage("web", [DockerTag(f"v{i}", now - (100 - i) * 86400) for i in range(12)], now),
        DockerImage("db", [DockerTag("v1", now - 400 * 86400)], now - 400 * 86400),
    ]
    gamma.docker_images = [DockerImage("worker", [DockerTag("latest", now - 3600)], now - 3600)]
    account.host_images["cn-bj2"] = [
        HostImage("uimage-eol", "old-web", now - 200 * 86400, "CentOS 7.9 64位",
                  maintain_eol=eol_date(now + 10 * 86400)),
        HostImage("uimage-new", "new-web", now - 86400, "Ubuntu 24.04 64位", size=40,
                  maintain_eol=eol_date(now + 900 * 86400)),
        HostImage("uimage-bad", "broken", now - 86400, state="Unavailable"),
    ]  # fmt: skip
    account.host_images["cn-sh2"] = [
        HostImage("uimage-sh-1", "a", now - 86400, maintain_eol=eol_date(now + 500 * 86400)),
        HostImage("uimage-sh-2", "b", now - 86400, state="Making"),
    ]
    exp = start_exporter(
        config_for(
            simulator.url,
            # cn-sh2: 2 images of a quota of 2 (near-quota alert); hk: UCloud's default quota.
            [golden_account(docker_images=True, host_images=True, host_image_quotas={"cn-sh2": 2})],
            docker_images={"refresh_seconds": 10},
            host_images={"refresh_seconds": 10},
        )
    )
    with PrometheusServer(
        scrape_config([(f"127.0.0.1:{exp.port}", {})]),
        rule_files("alerts.yml", "recording.yml"),
        workdir=tmp_path / "prom",
    ) as prom:
        at = settle(
            prom,
            "ucloud_image_bucket_docker_images_up == 1",
            "ucloud_image_bucket_image_tags",
            "ucloud_uhost_images_up == 1",
            "ucloud_uhost_image_os_eol_timestamp_seconds",
            "ucloud_image_bucket_exporter_series_dropped",
            'ALERTS{alertname="UCloudImageHostImageOsEndOfLife", alertstate="firing"}',
            'ALERTS{alertname="UCloudImageHostImagesNearQuota", alertstate="firing"}',
        )
        results = dashboard_results(prom, at, image_rows=True)
        wheres = image_row_queries(results)
        assert len(wheres) >= 19, wheres  # the two rows' queries and the budget panel's
        empty = [where for where in wheres if not results[where]]
        assert not empty, f"queries without data; they need {IMAGE_ROWS_NEED}:\n" + (
            "\n".join(empty)
        )
        eol = prom.query('ALERTS{alertname="UCloudImageHostImageOsEndOfLife"}', at)
        assert {s["metric"]["image_id"] for s in eol} == {"uimage-eol"}
        assert {s["metric"]["name"] for s in eol} == {"old-web"}
        quota = prom.query('ALERTS{alertname="UCloudImageHostImagesNearQuota"}', at)
        assert {s["metric"]["region"] for s in quota} == {"cn-sh2"}
        for query in panels.queries():
            if query.where in wheres and query.instant and query.expr.startswith("topk("):
                k = int(query.expr[5:].split(",", 1)[0])
                assert 0 < len(results[query.where]) <= k, query.where


HEALTH_STATS = (
    "Exporter scrapes down",
    "Targets up",
    "Targets down",
    "Buckets",
    "Images",
    "Oldest data",
)


def test_dead_exporter_shows_down(simulator, start_exporter, tmp_path):
    exp = start_exporter(config_for(simulator.url, [golden_account()]))
    address = f"127.0.0.1:{exp.port}"
    with PrometheusServer(
        scrape_config([(address, {})]),
        rule_files("alerts.yml", "recording.yml"),
        workdir=tmp_path / "prom",
    ) as prom:
        alive = dashboard_results(
            prom,
            settle(prom, "instance_account_project_region_type:ucloud_image_bucket_images:sum"),
        )
        assert values(alive["Exporter scrapes down / A"]) == [0]
        assert values(alive["Targets up / A"]) == [3]
        assert exp.stop() == 0
        failed = prom.wait_for(f'up{{job="{JOB}"}} == 0', timeout=30)
        time.sleep(1.5)  # the rules' next evaluation, on the stale series
        dead = dashboard_results(prom, float(failed[0]["value"][0]) + 1)
        # Prometheus's own up says the exporter is down ...
        assert values(dead["Exporter scrapes down / A"]) == [1], dead["Exporter scrapes down / A"]
        assert values(dead["Exporter scrapes / A"]) == [0]
        # ... no other health number pretends all is well (no green zero, no stale data) ...
        claims = {title: dead[f"{title} / A"] for title in HEALTH_STATS[1:]}
        assert all(not result for result in claims.values()), claims
        # ... and the variables still offer the dead exporter.
        assert {s["metric"]["job"] for s in dead["variable job"]} == {JOB}
        assert {s["metric"]["instance"] for s in dead["variable instance"]} == {address}


# Panels whose numbers are totals: with an HA pair they must equal one exporter's.
TOTALS = (
    "Targets up",
    "Targets down",
    "Buckets",
    "Images",
    "Buckets by region and type",
    "Images by region",
    "Top buckets by image count",
    "Newest buckets",
)
# Recording rule -> the same total from one exporter's raw series (%s: its instance matcher).
RULE_TOTALS = {
    "account_project_region_type:ucloud_image_buckets:sum": "sum(ucloud_image_buckets{%s})",
    "account_project_region:ucloud_image_buckets:sum": "sum(ucloud_image_buckets{%s})",
    "account_project_region_type:ucloud_image_bucket_images:sum": (
        "sum(ucloud_image_bucket_images{%s})"
    ),
    "account_project_region:ucloud_image_bucket_images:sum": "sum(ucloud_image_bucket_images{%s})",
    "job:ucloud_image_bucket_up:sum": "sum(ucloud_image_bucket_up{%s})",
    "job:ucloud_image_bucket_up:count": "count(ucloud_image_bucket_up{%s})",
    "account_project_region:ucloud_image_bucket_up:max": "sum(ucloud_image_bucket_up{%s})",
}


def rows(result: list[dict[str, Any]]) -> list[tuple[list[tuple[str, str]], str]]:
    return sorted((sorted(s["metric"].items()), s["value"][1]) for s in result)


def test_ha_pair_totals_equal_one_exporter(simulator, start_exporter, tmp_path):
    config = config_for(simulator.url, [golden_account()])
    addresses = [f"127.0.0.1:{start_exporter(config).port}" for _ in "ab"]
    targets = [(address, {"replica": name}) for address, name in zip(addresses, "ab", strict=True)]
    with PrometheusServer(
        scrape_config(targets), rule_files("recording.yml"), workdir=tmp_path / "prom"
    ) as prom:
        prom.wait_for(f'up{{job="{JOB}"}} == 1', lambda r: len(r) == 2, timeout=30)
        at = settle(
            prom,
            "account_project_region:ucloud_image_bucket_up:max",
            "account_project_region:ucloud_image_bucket_images:sum",
        )
        one = f'instance="{addresses[0]}"'
        for rule, single in RULE_TOTALS.items():
            pair, alone = prom.query(f"sum({rule})", at), prom.query(single % one, at)
            assert values(pair) == values(alone) and values(pair), (rule, pair, alone)
        requests = "rate(ucloud_image_bucket_api_requests_total{%s}[5s])"
        single_rate = values(prom.query(f"sum({requests % one})", at))[0]
        pair_rate = values(
            prom.query(
                "sum(account_project_region_action:ucloud_image_bucket_api_requests:rate5m)", at
            )
        )[0]
        assert 0 < pair_rate < 1.5 * single_rate, (pair_rate, single_rate)

        both = dashboard_results(prom, at)
        alone_ = dashboard_results(prom, at, instance=addresses[0])
        totals = [query.where for query in panels.queries() if query.panel in TOTALS]
        assert len(totals) >= len(TOTALS)
        for where in totals:
            assert both[where] and rows(both[where]) == rows(alone_[where]), where
