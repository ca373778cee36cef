"""A real Prometheus server scrapes the real exporter; series are read back via its HTTP API."""

from __future__ import annotations

import pytest

from exporter.simulator import Fault
from tests.support.procs import config_for, golden_account
from tests.support.prometheus import PrometheusServer

pytestmark = pytest.mark.e2e


def test_prometheus_scrapes_the_exporter(simulator, start_exporter, tmp_path):
    simulator.add_fault(Fault(retcode=172, message="user not exist"), region="hk")
    exp = start_exporter(config_for(simulator.url, [golden_account()]))
    prom_config = f"""
global: {{scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}}
scrape_configs:
  - job_name: ucloud-image-exporter
    static_configs: [{{targets: ["127.0.0.1:{exp.port}"]}}]
"""
    with PrometheusServer(prom_config, workdir=tmp_path / "prom") as prom:
        prom.wait_for('up{job="ucloud-image-exporter"} == 1', timeout=30)
        buckets = prom.wait_for(
            "sum by (region, type) (ucloud_image_buckets)", lambda r: len(r) == 4, timeout=30
        )
        got = {(s["metric"]["region"], s["metric"]["type"]): float(s["value"][1]) for s in buckets}
        assert got == {
            ("cn-bj2", "private"): 3,
            ("cn-bj2", "public"): 3,
            ("cn-sh2", "private"): 2,
            ("cn-sh2", "public"): 1,
        }
        up = {
            s["metric"]["region"]: float(s["value"][1])
            for s in prom.query("ucloud_image_bucket_up")
        }
        assert up == {"cn-bj2": 1, "cn-sh2": 1, "hk": 0}
        names = {s["metric"]["bucket"] for s in prom.query("ucloud_image_bucket_images")}
        assert "镜像仓库/测试" in names and 'golden/quote"name' in names
        assert "golden/new\nline" in names and len(names) == 9
        errors = prom.query('ucloud_image_bucket_api_errors_total{reason="retcode_172"}')
        assert errors and float(errors[0]["value"][1]) >= 1
        # Prometheus itself found nothing wrong with the exposition
        assert prom.query('scrape_samples_scraped{job="ucloud-image-exporter"}')
        assert not prom.query('up{job="ucloud-image-exporter"} == 0')
