"""The real exporter process against the simulator over loopback."""

from __future__ import annotations

import gzip
import threading
import time

import httpx
import pytest

from exporter import flags
from exporter.simulator import DEMO_PROJECT, GOLDEN_PRIVATE_KEY, Fault
from tests.support.procs import (
    Samples,
    config_for,
    golden_account,
    run_cli,
    samples,
    value,
    wait_until,
)

pytestmark = pytest.mark.e2e  # every test here starts a process


def test_every_metric_of_the_contract(simulator, start_exporter):
    exp = start_exporter(config_for(simulator.url, [golden_account()]))
    response = exp.get()
    assert response.status_code == 200
    m = samples(response.text)
    t = {"account": "golden"}
    assert value(m, "ucloud_image_buckets", **t, region="cn-bj2", type="private") == 3
    assert value(m, "ucloud_image_buckets", **t, region="cn-bj2", type="public") == 3
    assert value(m, "ucloud_image_buckets", **t, region="cn-sh2", type="public") == 1
    assert value(m, "ucloud_image_buckets", **t, region="hk", type="private") == 0
    assert value(m, "ucloud_image_buckets", **t, region="hk", type="public") == 0
    assert (
        value(
            m,
            "ucloud_image_bucket_images",
            **t,
            region="cn-sh2",
            bucket="golden/gamma",
            type="private",
        )
        == 250
    )
    assert (
        value(
            m,
            "ucloud_image_bucket_created_timestamp_seconds",
            **t,
            region="cn-sh2",
            bucket="golden/gamma",
            type="private",
        )
        == 1_520_000_000
    )
    for region in ("cn-bj2", "cn-sh2", "hk"):
        assert value(m, "ucloud_image_bucket_up", **t, region=region) == 1
        assert value(m, "ucloud_image_bucket_scrape_duration_seconds", **t, region=region) > 0
        last = value(m, "ucloud_image_bucket_last_success_timestamp_seconds", **t, region=region)
        assert abs(last - time.time()) < 60
    # page_size 2: cn-bj2 has 6 buckets = 3 pages, cn-sh2 3 = 2 pages, hk 1 empty page
    assert (
        value(
            m,
            "ucloud_image_bucket_api_requests_total",
            **t,
            region="cn-bj2",
            action="GetImageBucketList",
        )
        == 3
    )
    assert (
        value(
            m,
            "ucloud_image_bucket_api_requests_total",
            **t,
            region="hk",
            action="GetImageBucketList",
        )
        == 1
    )
    build = [k for k in m if k[0] == "ucloud_image_bucket_exporter_build_info"]
    assert len(build) == 1 and dict(build[0][1])["version"]
    second = samples(exp.get().text)
    assert (
        value(
            second,
            "ucloud_image_bucket_api_requests_total",
            **t,
            region="cn-bj2",
            action="GetImageBucketList",
        )
        == 6
    )  # counters live across scrapes


def test_failing_target_does_not_blank_the_others(simulator, start_exporter):
    simulator.add_fault(Fault(retcode=171, message="signature error"), region="cn-sh2")
    exp = start_exporter(config_for(simulator.url, [golden_account()]))
    response = exp.get()
    assert response.status_code == 200
    m = samples(response.text)
    assert value(m, "ucloud_image_bucket_up", account="golden", region="cn-sh2") == 0
    assert value(m, "ucloud_image_bucket_up", account="golden", region="cn-bj2") == 1
    assert (
        value(m, "ucloud_image_bucket_scrape_duration_seconds", account="golden", region="cn-sh2")
        is not None
    )
    assert (
        value(m, "ucloud_image_buckets", account="golden", region="cn-sh2", type="private") is None
    )
    assert value(m, "ucloud_image_buckets", account="golden", region="cn-bj2", type="private") == 3
    assert (
        value(
            m,
            "ucloud_image_bucket_api_errors_total",
            account="golden",
            region="cn-sh2",
            action="GetImageBucketList",
            reason="retcode_171",
        )
        == 1
    )
    assert (
        value(
            m,
            "ucloud_image_bucket_error_info",
            account="golden",
            region="cn-sh2",
            reason="retcode_171",
        )
        == 1
    )
    assert (
        value(
            m,
            "ucloud_image_bucket_last_success_timestamp_seconds",
            account="golden",
            region="cn-sh2",
        )
        is None
    )
    line = [ln for ln in exp.logs().splitlines() if "target listing failed" in ln]
    assert len(line) == 1
    assert "account=golden" in line[0] and "region=cn-sh2" in line[0]
    assert "reason=retcode_171" in line[0] and "signature error" in line[0]


def test_single_flight_shares_one_collection(simulator, start_exporter):
    exp = start_exporter(
        config_for(simulator.url, [golden_account(regions=["cn-sh2"])], ucloud={"page_size": 100})
    )
    simulator.latency = 1.0  # all eight scrapes arrive during one listing (timeout is 2 s)
    simulator.reset_counts()
    codes: list[int] = []
    gate = threading.Barrier(8)

    def scrape() -> None:
        gate.wait(10)
        codes.append(exp.get().status_code)

    threads = [threading.Thread(target=scrape) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    assert codes == [200] * 8
    assert simulator.request_count(action="GetImageBucketList") == 1


def test_endpoints_and_negotiation(simulator, start_exporter):
    exp = start_exporter(
        config_for(simulator.url, [golden_account()]), "--web.telemetry-path", "/custom"
    )
    landing = exp.get("/")
    assert landing.status_code == 200 and "text/html" in landing.headers["content-type"]
    assert 'href="/custom"' in landing.text and "cn-sh2" in landing.text
    assert "golden" in landing.text
    assert exp.get("/-/healthy").status_code == 200 and exp.get("/-/ready").status_code == 200
    assert exp.get("/metrics").status_code == 404 and exp.get("/nope").status_code == 404
    assert httpx.post(exp.url + "/custom").status_code == 405
    zipped = httpx.get(exp.url + "/custom", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers.get("content-encoding") == "gzip"
    raw = httpx.get(exp.url + "/custom", headers={"Accept-Encoding": "gzip"}).read()
    assert b"ucloud_image_bucket_up" in raw or b"ucloud_image_bucket_up" in gzip.decompress(raw)
    om = exp.get("/custom", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert om.headers["content-type"].startswith("application/openmetrics-text")
    assert om.text.rstrip().endswith("# EOF")


def test_secrets_absent_from_every_output(simulator, start_exporter, tmp_path):
    simulator.add_fault(Fault(retcode=171), region="cn-sh2")
    simulator.add_fault(Fault(body=b"{garbled"), region="hk")
    cfg = config_for(simulator.url, [golden_account()])
    exp = start_exporter(cfg)
    outputs = [exp.get().text, exp.get("/").text, exp.get("/nope").text]
    bad = config_for(simulator.url, [golden_account(regions=[]), golden_account()])
    (tmp_path / "bad.yaml").write_text(str(bad).replace("'", '"'))
    check = run_cli("--config.file", str(tmp_path / "bad.yaml"), "--config.check")
    ok = run_cli("--config.file", str(tmp_path / "config.yaml"), "--config.check")
    exp.stop()
    outputs += [exp.logs(), check.stdout, check.stderr, ok.stdout, ok.stderr]
    for text in outputs:
        assert GOLDEN_PRIVATE_KEY not in text
    assert "target listing failed" in exp.logs()  # the logs did cover the failures


def test_config_check_and_bad_config(tmp_path):
    (tmp_path / "bad.yaml").write_text("ucloud: {page_size: 0}\naccounts:\n  - name: x\n")
    bad = run_cli(
        "--config.file",
        str(tmp_path / "bad.yaml"),
        "--config.check",
        env={"UCLOUD_PUBLIC_KEY": "", "UCLOUD_PRIVATE_KEY": ""},
    )
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    lines = bad.stderr.strip().splitlines()
    assert any("ucloud.page_size: must be an integer between 1 and 1000" in ln for ln in lines)
    assert any("accounts[0].regions: must be a non-empty list" in ln for ln in lines)
    started = run_cli("--config.file", str(tmp_path / "bad.yaml"))  # not just --config.check
    assert started.returncode == 1 and "Traceback" not in started.stderr
    missing = run_cli("--config.file", str(tmp_path / "absent.yaml"))
    assert missing.returncode == 1 and "cannot read config file" in missing.stderr
    (tmp_path / "good.yaml").write_text(
        "accounts: [{name: a, public_key: p, private_key: s, regions: [hk]}]\n"
    )
    good = run_cli("--config.file", str(tmp_path / "good.yaml"), "--config.check")
    assert good.returncode == 0 and "OK (1 accounts, 1 targets)" in good.stdout


def test_bad_flags_are_argparse_errors(capsys):
    """In process (the real command's exit 2 is tests/test_fuzz.py's)."""
    for args, needle in (
        (["--web.listen-address", "nonsense"], "--web.listen-address"),
        (["--log.level", "loud"], "--log.level"),
        (["--web.telemetry-path", "metrics"], "--web.telemetry-path"),
        (["--no-such-flag"], "unrecognized arguments"),
    ):
        with pytest.raises(SystemExit) as exit_:
            flags.parse_args(args)
        stderr = capsys.readouterr().err
        assert exit_.value.code == 2 and needle in stderr and "Traceback" not in stderr
    with pytest.raises(SystemExit) as exit_:
        flags.parse_args(["--version"])
    assert exit_.value.code == 0 and "ucloud-image-exporter" in capsys.readouterr().out


def test_json_logs(simulator, start_exporter):
    import json

    simulator.add_fault(Fault(retcode=172, message="user not exist"))
    exp = start_exporter(
        config_for(simulator.url, [golden_account(regions=["hk"])]), "--log.format", "json"
    )
    exp.get()
    exp.stop()
    records = [json.loads(line) for line in exp.logs().splitlines() if line.startswith("{")]
    failed = [r for r in records if r["msg"].startswith("target listing failed")]
    assert failed and failed[0]["reason"] == "retcode_172" and failed[0]["level"] == "warn"
    # The start-up line names the API client's event loop (auto: uvloop, installed here).
    (listening,) = [r for r in records if r["msg"] == "listening"]
    assert listening["event_loop"] == "uvloop" and listening["port"] == exp.port


def test_listen_address_in_use_fails_cleanly(start_exporter, simulator):
    exp = start_exporter(config_for(simulator.url, [golden_account()]))
    cfg_path = exp.workdir / "config.yaml"
    result = run_cli(
        "--config.file", str(cfg_path), "--web.listen-address", f"127.0.0.1:{exp.port}"
    )
    assert result.returncode == 1 and "cannot listen on" in result.stderr
    assert "Traceback" not in result.stderr


def uhub_ups(m: Samples) -> dict[tuple[str, str], float]:
    """Return ``ucloud_uhub_up`` by (account, project)."""
    return {
        (d["account"], d["project"]): v
        for (name, labels), v in m.items()
        if name == "ucloud_uhub_up"
        for d in [dict(labels)]
    }


def test_demo_mode_starts_without_config(tmp_path):
    from tests.support.procs import Exporter

    exp = Exporter(tmp_path, None, "--demo")
    try:
        m = samples(exp.get().text)
        ups = [v for k, v in m.items() if k[0] == "ucloud_image_bucket_up"]
        # main: 3 projects (project_id: auto) x 4 regions (regions: auto); staging: 2 regions
        assert len(ups) == 3 * 4 + 2 and all(v == 1 for v in ups)
        buckets = sum(v for k, v in m.items() if k[0] == "ucloud_image_buckets")
        assert buckets >= 300
        assert "Demo mode" in exp.logs()
        # UHub is refreshed in the background, one project after another
        assert wait_until(lambda: len(uhub_ups(samples(exp.get().text))) == 3, timeout=15)
        m = samples(exp.get().text)
        assert uhub_ups(m) == {
            ("main", p): 1 for p in (DEMO_PROJECT, "org-demo-data", "org-demo-ml")
        }
        assert value(m, "ucloud_uhub_repos", account="main", project=DEMO_PROJECT) == 5
        tags = [v for k, v in m.items() if k[0] == "ucloud_uhub_image_tags"]
        assert max(tags) == 760  # one image close to UHub's 800-tag limit
    finally:
        assert exp.stop() == 0
