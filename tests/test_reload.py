"""Configuration reload through SIGHUP and POST /-/reload."""

from __future__ import annotations

import signal

import httpx
import pytest
import yaml

from tests.support.procs import config_for, golden_account, samples, value, wait_until

pytestmark = pytest.mark.e2e  # every test here starts a process


def reload_metrics(exp):
    m = samples(exp.get().text)
    return (
        value(m, "ucloud_image_bucket_config_last_reload_successful"),
        value(m, "ucloud_image_bucket_config_last_reload_success_timestamp_seconds"),
    )


def test_sighup_reloads_and_rejects_invalid(simulator, start_exporter):
    exp = start_exporter(config_for(simulator.url, [golden_account(regions=["cn-sh2"])]))
    ok, first_ts = reload_metrics(exp)
    assert ok == 1
    path = exp.workdir / "config.yaml"
    path.write_text(
        yaml.safe_dump(config_for(simulator.url, [golden_account(regions=["cn-sh2", "hk"])]))
    )
    exp.proc.send_signal(signal.SIGHUP)
    assert wait_until(
        lambda: (
            value(samples(exp.get().text), "ucloud_image_bucket_up", account="golden", region="hk")
            == 1
        )
    )
    ok, second_ts = reload_metrics(exp)
    assert ok == 1 and second_ts > first_ts
    path.write_text("ucloud: {page_size: -5}\naccounts: []\n")
    exp.proc.send_signal(signal.SIGHUP)
    assert wait_until(lambda: reload_metrics(exp)[0] == 0)
    m = samples(exp.get().text)
    assert value(m, "ucloud_image_bucket_up", account="golden", region="hk") == 1  # old config
    assert value(m, "ucloud_image_bucket_config_last_reload_success_timestamp_seconds") == second_ts
    assert "ucloud.page_size: must be an integer" in exp.logs()
    assert exp.proc.poll() is None


def test_http_reload_with_the_lifecycle_flag(simulator, start_exporter):
    """The flag reaches the app (its answers are checked in process: tests/test_web_app.py)."""
    cfg = config_for(simulator.url, [golden_account(regions=["cn-sh2"])])
    exp = start_exporter(cfg, "--web.enable-lifecycle")
    assert httpx.get(exp.url + "/-/reload").status_code == 405
    (exp.workdir / "config.yaml").write_text(
        yaml.safe_dump(
            config_for(simulator.url, [golden_account(name="renamed", regions=["cn-sh2"])])
        )
    )
    assert httpx.post(exp.url + "/-/reload").status_code == 200
    m = samples(exp.get().text)
    assert value(m, "ucloud_image_bucket_up", account="renamed", region="cn-sh2") == 1
    assert value(m, "ucloud_image_bucket_up", account="golden", region="cn-sh2") is None
    assert (
        value(
            m,
            "ucloud_image_bucket_last_success_timestamp_seconds",
            account="golden",
            region="cn-sh2",
        )
        is None
    )  # nothing left behind of the old target
