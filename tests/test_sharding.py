"""Two real Prometheus servers shard the exporter's /probe targets with hashmod.

The shipped example prometheus/prometheus-sharded.yml is used as it is, except for the
target list, the exporter's address, the shard number and the intervals.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from exporter.simulator import GOLDEN_PUBLIC_KEY, Fault
from tests.support.faults import malformed_entry
from tests.support.monitoring import (
    DISCOVERY_PANEL,
    UHUB_NEEDS,
    dashboard_results,
    rule_files,
    settle,
    uhub_queries,
)
from tests.support.procs import config_for, golden_account
from tests.support.prometheus import PrometheusServer

pytestmark = pytest.mark.e2e
EXAMPLE = Path(__file__).resolve().parent.parent / "prometheus" / "prometheus-sharded.yml"
TARGETS = [
    f"{account}/{region}"
    for account in ("golden", "second", "third")
    for region in ("cn-bj2", "cn-sh2", "hk")
]


def shard_config(shard: int, exporter: str, *, full: bool = False) -> str:
    """Return the example config for ``shard`` of 2, pointed at ``exporter``.

    ``full`` keeps the rule files and the exporter's own /metrics job (its bucket metrics
    dropped, as the example does); otherwise only the probe job is left.
    """
    config = yaml.safe_load(EXAMPLE.read_text())
    config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    probe = jobs["ucloud-image-probe"]
    probe.update(scrape_interval="1s", scrape_timeout="1s", static_configs=[{"targets": TARGETS}])
    relabel = probe["relabel_configs"]
    (keep,) = [r for r in relabel if r.get("action") == "keep"]
    keep["regex"] = str(shard)
    relabel[-1]["replacement"] = exporter
    if full:
        jobs["ucloud-image-exporter"].update(
            scrape_interval="1s", scrape_timeout="1s", static_configs=[{"targets": [exporter]}]
        )
    else:
        config.pop("rule_files")
        config["scrape_configs"] = [probe]
    return yaml.safe_dump(config)


def active_targets(prom: PrometheusServer, timeout: float = 15) -> set[str]:
    """Return the instances this server scrapes, once service discovery has run."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        found = {t["labels"]["instance"] for t in prom.targets()}
        if found:
            return found
        time.sleep(0.2)
    return set()


def has_n(n: int):
    """Return a predicate: the query result has exactly ``n`` series."""
    return lambda result: len(result) == n


def test_two_servers_hold_every_target_exactly_once(simulator, start_exporter, tmp_path):
    accounts = [golden_account(), golden_account(name="second"), golden_account(name="third")]
    exp = start_exporter(config_for(simulator.url, accounts))
    address = f"127.0.0.1:{exp.port}"
    with (
        PrometheusServer(shard_config(0, address), workdir=tmp_path / "p0") as p0,
        PrometheusServer(shard_config(1, address), workdir=tmp_path / "p1") as p1,
    ):
        seen: list[set[str]] = []
        for prom in (p0, p1):
            targets = active_targets(prom)
            prom.wait_for("up == 1", has_n(len(targets)), timeout=30)
            series = prom.wait_for("ucloud_image_bucket_up", has_n(len(targets)), timeout=30)
            assert {f"{s['metric']['account']}/{s['metric']['region']}" for s in series} == targets
            seen.append(targets)
        assert seen[0] and seen[1], f"hashmod gave one server nothing: {seen}"
        assert not seen[0] & seen[1]
        assert seen[0] | seen[1] == set(TARGETS)
        images = [len(p.query("ucloud_image_bucket_images")) for p in (p0, p1)]
        assert sum(images) == 3 * 9  # 9 buckets per account, each series exactly once
        for prom in (p0, p1):
            assert not prom.query("process_resident_memory_bytes")  # no self-metrics on /probe


def test_sharded_example_passes_promtool(tmp_path):
    import shutil
    import subprocess

    from tests.support.realparts import require_binary

    for name in ("prometheus-sharded.yml", "alerts.yml", "recording.yml"):
        shutil.copy(EXAMPLE.parent / name, tmp_path / name)
    result = subprocess.run(
        [require_binary("promtool"), "check", "config", str(tmp_path / "prometheus-sharded.yml")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dashboard_queries_on_the_sharded_probe_setup(simulator, start_exporter, tmp_path):
    """Every dashboard variable and panel query has data with /probe sharding (defect 4)."""
    simulator.add_fault(malformed_entry(), region="hk")
    simulator.add_fault(
        Fault(retcode=171, message="signature error"), account=GOLDEN_PUBLIC_KEY, region="cn-bj2"
    )
    accounts = [
        golden_account(uhub=True),
        golden_account(name="second"),
        golden_account(name="third"),
    ]
    exp = start_exporter(config_for(simulator.url, accounts, ucloud={"retries": 0}))
    address = f"127.0.0.1:{exp.port}"
    rules = rule_files("alerts.yml", "recording.yml")
    with (
        PrometheusServer(shard_config(0, address, full=True), rules, workdir=tmp_path / "p0") as p0,
        PrometheusServer(shard_config(1, address, full=True), rules, workdir=tmp_path / "p1") as p1,
    ):
        shards = []
        for prom in (p0, p1):
            at = settle(
                prom,
                "account_project_region:ucloud_image_bucket_up:max",
                "ucloud_image_bucket_exporter_build_info",
                "ucloud_uhub_up == 1",
            )
            results = dashboard_results(prom, at)
            shards.append(results)
            jobs = {s["metric"]["job"] for s in results["variable job"]}
            assert jobs == {"ucloud-image-probe", "ucloud-image-exporter"}
            probes = {s["metric"]["instance"] for s in results["variable instance"]}
            assert probes == active_targets(prom)  # the probes and the exporter itself
            for name in ("account", "project", "region", "type"):
                assert results[f"variable {name}"], name
            assert not prom.query('process_resident_memory_bytes{job="ucloud-image-probe"}')
        # Growth needs an hour-old value, the discovery panel project discovery and a temporary
        # key (see DISCOVERY_PANEL); everything else has data on one shard at least.
        empty = [
            where
            for where in shards[0]
            if not (shards[0][where] or shards[1][where])
            and not where.startswith(("Biggest image-count growth", f"{DISCOVERY_PANEL} / "))
        ]
        uhub_empty = uhub_queries(empty)
        assert not uhub_empty, f"UHub queries without data; they need {UHUB_NEEDS}: {uhub_empty}"
        assert not empty, empty
