"""End to end with real parts: exporter + simulator, Prometheus with the shipped rules, and
Alertmanager. Every dashboard query returns data; an auth failure reaches Alertmanager.

The shipped rules are loaded as they are, except that every ``for:`` is shortened to 2s so
the test finishes in about a minute; their real durations are covered by promtool unit tests.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from exporter.simulator import GOLDEN_PUBLIC_KEY, Bucket, Fault
from tests.conftest import golden_account
from tests.procs import config_for
from tests.realparts import AlertmanagerServer, PrometheusServer
from tests.test_dashboard import SUBSTITUTIONS, targets, variable_selectors

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parent.parent
RANGE = 12  # seconds of history the growth and "in range" panels look back over


def fast_rules() -> str:
    """Return the shipped alert rules with every ``for:`` shortened."""
    return re.sub(r"(?m)^(\s+for:) \S+$", r"\1 2s", (ROOT / "prometheus/alerts.yml").read_text())


def panel_query(expr: str) -> str:
    """Substitute dashboard variables as Grafana would, for a short test history."""
    values = {**SUBSTITUTIONS, "__rate_interval": "5s", "__range": f"{RANGE}s"}
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: values[m.group(1) or m.group(2)], expr)


def bump_bucket(simulator, region: str, name: str, extra: int) -> None:
    """Make one bucket's image count grow, as a push to the registry would."""
    (old,) = [b for b in simulator.fleet.buckets(GOLDEN_PUBLIC_KEY, region) if b.name == name]
    simulator.fleet.remove_bucket(GOLDEN_PUBLIC_KEY, region, name)
    simulator.fleet.add_bucket(GOLDEN_PUBLIC_KEY, region,
                               Bucket(old.name, old.type, old.image_count + extra,
                                      old.create_time, old.shared))


def test_dashboard_queries_and_alert_delivery(simulator, start_exporter, tmp_path):
    # one entry with a malformed field, so the "invalid entries" panel has data too
    simulator.add_fault(Fault(mutate=lambda body: {**body, "ImageSet": [
        *body["ImageSet"], {"BucketName": "broken", "BucketType": "Private",
                            "ImageCount": "many", "CreateTime": 1}]}), region="hk")
    exp = start_exporter(config_for(simulator.url, [golden_account()],
                                    ucloud={"page_size": 100, "retries": 0}))
    with AlertmanagerServer("route: {receiver: sink}\nreceivers: [{name: sink}]\n",
                            workdir=tmp_path / "am") as am:
        prom_config = f"""
global: {{scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}}
rule_files: [alerts.yml, recording.yml]
alerting:
  alertmanagers: [{{static_configs: [{{targets: ["127.0.0.1:{am.port}"]}}]}}]
scrape_configs:
  - job_name: ucloud-image-exporter
    static_configs: [{{targets: ["127.0.0.1:{exp.port}"]}}]
"""
        rules: dict[str, str | Path] = {"alerts.yml": fast_rules(),
                                        "recording.yml": ROOT / "prometheus/recording.yml"}
        with PrometheusServer(prom_config, rules, workdir=tmp_path / "prom",
                              extra_args=["--rules.alert.resend-delay=1s"]) as prom:
            prom.wait_for('up{job="ucloud-image-exporter"} == 1', timeout=30)
            time.sleep(RANGE + 2)
            bump_bucket(simulator, "cn-sh2", "golden/gamma", 40)
            simulator.add_fault(Fault(retcode=171, message="signature error"),
                                account=GOLDEN_PUBLIC_KEY, region="cn-bj2")
            alerts = am.wait_for_alerts(lambda found: any(
                a["labels"]["alertname"] == "UCloudImageApiAuthErrors" for a in found),
                timeout=60)
            (auth,) = [a for a in alerts if a["labels"]["alertname"] == "UCloudImageApiAuthErrors"]
            assert auth["labels"]["severity"] == "critical"
            assert auth["labels"]["account"] == "golden" and auth["labels"]["region"] == "cn-bj2"
            assert auth["labels"]["reason"] == "retcode_171"
            assert "golden" in auth["annotations"]["description"]
            assert "cn-bj2" in auth["annotations"]["description"]
            assert auth["annotations"]["summary"]
            prom.wait_for('ucloud_image_bucket_images{bucket="golden/gamma"} == 290', timeout=20)
            empty = []
            for title, target in targets():
                if not prom.query(panel_query(target["expr"])):
                    empty.append(f"{title}: {panel_query(target['expr'])}")
            for name, selector in variable_selectors():
                if not prom.query(f"count by ({name}) ({panel_query(selector)})"):
                    empty.append(f"variable {name}: {selector}")
            assert not empty, "queries without data:\n" + "\n".join(empty)
            firing = {a["labels"]["alertname"] for a in am.alerts()}
            assert "UCloudImageExporterDown" not in firing
