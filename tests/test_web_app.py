"""The ASGI app in process: routing, /probe, HEAD, /-/reload, the landing page, negotiation.

The app is called with ASGI scopes (through the gate); its engine lists the golden fleet from a
simulator on loopback. tests/test_integration.py and tests/test_server_limits.py keep what
needs the real server process (the same answers through uvicorn, TLS, limits).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from exporter import metrics
from exporter.runtime import Runtime
from exporter.simulator import GOLDEN_PRIVATE_KEY, Simulator
from exporter.web.app import App
from tests.support.asgi import call, runtime_on
from tests.support.procs import config_for, golden_account, value

OPENMETRICS = "application/openmetrics-text; version=1.0.0"


@pytest.fixture
def runtime(simulator: Simulator, tmp_path: Path) -> Iterator[Runtime]:
    with runtime_on(tmp_path, config_for(simulator.url, [golden_account()])) as (rt, _):
        yield rt


@pytest.fixture
def app(runtime: Runtime) -> App:
    return App(runtime, telemetry_path="/custom")


@pytest.mark.e2e
def test_telemetry_path_has_every_target_and_the_self_metrics(app: App) -> None:
    answer = call(app, "/custom")
    assert answer.status == 200 and answer.headers["content-type"].startswith("text/plain")
    m = answer.samples()
    for region in ("cn-bj2", "cn-sh2", "hk"):
        assert value(m, metrics.UP.name, account="golden", region=region) == 1
    assert value(m, metrics.BUCKETS.name, account="golden", region="cn-sh2", type="private") == 2
    assert value(m, metrics.RELOAD_OK.name) == 1
    assert any(name.startswith("process_") for name, _ in m)
    assert int(answer.headers["content-length"]) == len(answer.body)


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("path", "method", "expected"),
    [
        ("/metrics", "GET", (404, None)),
        ("/nope", "GET", (404, None)),
        ("/custom", "POST", (405, "GET, HEAD")),
        ("/probe", "DELETE", (405, "GET, HEAD")),
        ("/", "PUT", (405, "GET, HEAD")),
        ("/-/reload", "GET", (405, "POST, PUT")),
    ],
)
def test_unknown_paths_and_methods(
    app: App, simulator: Simulator, path: str, method: str, expected: tuple[int, str | None]
) -> None:
    simulator.reset_counts()
    answer = call(app, path, method=method)
    assert (answer.status, answer.headers.get("allow")) == expected
    assert simulator.request_count() == 0


@pytest.mark.e2e
def test_health_and_readiness(app: App) -> None:
    for path in ("/-/healthy", "/-/ready"):
        answer = call(app, path)
        assert (answer.status, answer.text) == (200, "OK\n")


@pytest.mark.e2e
def test_head_answers_headers_only_without_a_collection(app: App, simulator: Simulator) -> None:
    simulator.reset_counts()
    for path, query in (("/custom", ""), ("/probe", "account=golden")):
        plain = call(app, path, method="HEAD", query=query)
        assert plain.status == 200 and plain.body == b""
        assert plain.headers["content-type"].startswith("text/plain")
        om = call(app, path, method="HEAD", query=query, headers={"Accept": OPENMETRICS})
        assert om.headers["content-type"].startswith("application/openmetrics-text")
    assert simulator.request_count() == 0
    landing = call(app, "/", method="HEAD")
    assert landing.status == 200 and landing.body == b""


@pytest.mark.e2e
def test_gzip_and_openmetrics_negotiation(app: App) -> None:
    zipped = call(app, "/custom", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip" and zipped.body[:2] == b"\x1f\x8b"
    assert metrics.UP.name in zipped.text
    assert "content-encoding" not in call(app, "/custom").headers
    om = call(app, "/custom", headers={"Accept": OPENMETRICS})
    assert om.headers["content-type"].startswith("application/openmetrics-text")
    assert om.text.rstrip().endswith("# EOF") and om.text.count("# EOF") == 1
    assert metrics.IMAGES.name in om.text  # the per-bucket series go before # EOF


@pytest.mark.e2e
def test_probe_one_target(app: App) -> None:
    answer = call(app, "/probe", query="account=golden&region=cn-sh2")
    assert answer.status == 200
    m = answer.samples()
    assert {dict(labels)["region"] for name, labels in m if name == metrics.UP.name} == {"cn-sh2"}
    assert not [name for name, _ in m if name.startswith(("process_", "python_"))]
    every = call(app, "/probe", query="account=golden").samples()
    assert {dict(labels)["region"] for name, labels in every if name == metrics.UP.name} == {
        "cn-bj2",
        "cn-sh2",
        "hk",
    }


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("query", "needle"),
    [
        ("", "missing parameter: account"),
        ("account=", "missing parameter: account"),
        ("account=nobody", "unknown account 'nobody'"),
        ("account=golden&region=eu-west", "region 'eu-west' is not configured"),
        ("account=golden&region=http://evil", "is not configured"),
    ],
)
def test_probe_parameters_are_checked_before_any_call(
    app: App, simulator: Simulator, query: str, needle: str, caplog: pytest.LogCaptureFixture
) -> None:
    simulator.reset_counts()
    with caplog.at_level(logging.WARNING):
        answer = call(app, "/probe", query=query)
    assert answer.status == 400 and needle in answer.text, query
    assert simulator.request_count() == 0
    assert not caplog.records  # a bad query is an answer, not a fault to log


@pytest.mark.e2e
def test_probe_refuses_a_region_the_fleet_has_but_the_config_lacks(
    simulator: Simulator, tmp_path: Path
) -> None:
    cfg = config_for(simulator.url, [golden_account(regions=["cn-sh2"])])
    with runtime_on(tmp_path, cfg) as (runtime, _):
        simulator.reset_counts()
        answer = call(App(runtime), "/probe", query="account=golden&region=cn-bj2")
    assert answer.status == 400 and "region 'cn-bj2' is not configured" in answer.text
    assert simulator.request_count() == 0


@pytest.mark.e2e
def test_landing_page_names_targets_escapes_and_never_leaks(
    simulator: Simulator, tmp_path: Path
) -> None:
    account = golden_account(regions=["cn-sh2"], bucket_type="User")
    with runtime_on(tmp_path, config_for(simulator.url, [account])) as (runtime, _):
        answer = call(App(runtime, telemetry_path='/a"b<c'), "/")
    assert answer.status == 200 and answer.headers["content-type"].startswith("text/html")
    assert 'href="/a&quot;b&lt;c"' in answer.text and '/a"b' not in answer.text
    assert "<td>golden</td><td>org-golden</td><td>cn-sh2</td><td>User</td>" in answer.text
    assert simulator.url in answer.text
    assert GOLDEN_PRIVATE_KEY not in answer.text


@pytest.mark.e2e
def test_reload_needs_the_lifecycle_flag(runtime: Runtime) -> None:
    for method in ("POST", "PUT"):
        answer = call(App(runtime), "/-/reload", method=method)
        assert answer.status == 403 and "not enabled" in answer.text


@pytest.mark.e2e
def test_reload_applies_a_valid_file_and_keeps_the_old_one_otherwise(
    simulator: Simulator, tmp_path: Path
) -> None:
    cfg = config_for(simulator.url, [golden_account(regions=["cn-sh2"])])
    with runtime_on(tmp_path, cfg) as (runtime, path):
        app = App(runtime, enable_lifecycle=True)
        path.write_text(
            yaml.safe_dump(
                config_for(simulator.url, [golden_account(name="renamed", regions=["cn-sh2"])])
            )
        )
        assert call(app, "/-/reload", method="PUT").status == 200
        m = call(app).samples()
        assert value(m, metrics.UP.name, account="renamed", region="cn-sh2") == 1
        assert value(m, metrics.UP.name, account="golden", region="cn-sh2") is None
        assert value(m, metrics.LAST_SUCCESS.name, account="golden", region="cn-sh2") is None
        path.write_text("accounts: nope\n")
        bad = call(app, "/-/reload", method="POST")
        assert bad.status == 500 and "kept" in bad.text
        m = call(app).samples()
        assert value(m, metrics.RELOAD_OK.name) == 0
        assert value(m, metrics.UP.name, account="renamed", region="cn-sh2") == 1


@pytest.mark.e2e
def test_reload_of_the_web_config_counts_too(runtime: Runtime) -> None:
    outcomes = iter([True, False])
    app = App(runtime, enable_lifecycle=True, reload_web=lambda: next(outcomes))
    assert call(app, "/-/reload", method="POST").status == 200
    assert call(app, "/-/reload", method="POST").status == 500
