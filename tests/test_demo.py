"""What the demo tells a newcomer at start."""

from __future__ import annotations

import stat
import time
from pathlib import Path

import pytest
import yaml

from exporter import config
from exporter.demo import KEY_LIFETIME_SECONDS, Demo, banner
from exporter.engine import Engine
from exporter.simulator import DEMO_ACCOUNTS, DEMO_PROJECT
from tests.support.procs import scrape_until, value


@pytest.mark.parametrize("host", ["", "0.0.0.0", "::"])
def test_the_demo_says_where_to_look_and_that_it_listens_everywhere(host):
    text = banner(
        api_url="http://127.0.0.1:4242/", scheme="http", host=host, port=9787, path="/metrics"
    )
    assert "Open http://localhost:9787/ in a browser" in text
    assert "http://localhost:9787/metrics" in text
    assert "Listening on all interfaces" in text and "127.0.0.1:9787 keeps it local" in text


def test_no_all_interfaces_hint_on_loopback():
    text = banner(
        api_url="http://127.0.0.1:4242/", scheme="https", host="127.0.0.1", port=1, path="/m"
    )
    assert "Open https://localhost:1/ in a browser" in text and "all interfaces" not in text


def test_the_readme_simulator_config_lists_the_demo_fleet():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- simulator-config:begin -->\n```yaml\n", 1)[1].split("```", 1)[0]
    cfg = config.parse(yaml.safe_load(block), env={})
    assert cfg.ucloud.base_url == "http://127.0.0.1:8000/"
    assert [
        (a.name, a.public_key, a.private_key.reveal(), a.project_id, a.regions)
        for a in cfg.accounts
    ] == [
        (name, public, private, DEMO_PROJECT, regions)
        for name, public, private, regions in DEMO_ACCOUNTS
    ]
    assert len({r for a in cfg.accounts for r in a.regions}) == 5  # "five distinct regions"
    assert sum(len(a.regions) for a in cfg.accounts) == 6  # "six targets"


@pytest.mark.e2e
def test_the_demo_reads_a_profile_and_refreshes_an_instance_roles_keys() -> None:
    """main: through the ucloud-cli profile files the demo wrote (private); staging: on an
    instance role whose short keys are refreshed while scrapes go on, none failing."""
    demo = Demo(key_lifetime=3)
    try:
        cfg = demo.config()
        main, staging = cfg.accounts
        assert main.credential_source == f"profile demo ({demo.home / 'credential.json'})"
        assert staging.credential_source.startswith("instance_role demo-staging (metadata ")
        assert stat.S_IMODE(demo.home.stat().st_mode) == 0o700
        assert stat.S_IMODE((demo.home / "credential.json").stat().st_mode) == 0o600
        engine = Engine(cfg)
        try:
            failed, ends = 0, time.monotonic() + 7
            while time.monotonic() < ends:
                failed += sum(r.error is not None for r in engine.collect(timeout=5))
                time.sleep(0.3)
            assert failed == 0
            assert demo.sts.calls["v2"] >= 2  # the first key, and at least one refresh
            assert set(engine.keys.expiries()) == {"staging"}  # main's keys are long-lived
        finally:
            engine.close()
    finally:
        demo.stop()
    assert not demo.home.exists()


@pytest.mark.e2e
def test_the_demo_process_shows_both_accounts_and_the_expiry_gauge(start_exporter) -> None:
    exp = start_exporter(None, "--demo")
    parsed = scrape_until(exp, "ucloud_image_bucket_credentials_expiry_timestamp_seconds")
    up = "ucloud_image_bucket_up"
    assert value(parsed, up, account="main", project=DEMO_PROJECT, region="cn-bj2") == 1
    assert value(parsed, up, account="staging", region="cn-gd") == 1
    # main's projects (project_id: auto): every one, in every region of the account
    assert value(parsed, "ucloud_image_bucket_project_discovery_projects", account="main") == 3
    images = "ucloud_image_bucket_images"
    held = {dict(labels)["project"] for name, labels in parsed if name == images}
    assert {DEMO_PROJECT, "org-demo-data", "org-demo-ml"} <= held
    expiry = value(
        parsed, "ucloud_image_bucket_credentials_expiry_timestamp_seconds", account="staging"
    )
    assert time.time() + 60 < expiry <= time.time() + KEY_LIFETIME_SECONDS + 1
