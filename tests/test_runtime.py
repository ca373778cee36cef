"""Runtime in process: a reload swaps in a valid new file and keeps the running one otherwise."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
import yaml

from exporter import metrics
from exporter.runtime import Runtime
from tests.support.asgi import runtime_on
from tests.support.procs import config_for, golden_account

NOWHERE = "http://127.0.0.1:9/"  # nothing is listed here: no test collects


def gauges(runtime: Runtime) -> dict[str, float]:
    """Return the reload gauges by family name (families without samples left out)."""
    return {f.name: f.samples[0].value for f in runtime.families() if f.samples}


def test_reload_with_a_valid_file_reconfigures_the_engine_in_place(tmp_path: Path) -> None:
    with runtime_on(tmp_path, config_for(NOWHERE, [golden_account()])) as (runtime, path):
        first, loaded = runtime.engine, gauges(runtime)[metrics.RELOAD_TIME.name]
        assert gauges(runtime)[metrics.RELOAD_OK.name] == 1
        assert abs(loaded - time.time()) < 60
        path.write_text(
            yaml.safe_dump(config_for(NOWHERE, [golden_account(name="renamed", regions=["hk"])]))
        )
        time.sleep(0.01)
        assert runtime.reload() is True
        assert runtime.engine is first  # one engine, one loop thread, one client
        assert [(t.account.name, t.region) for t in runtime.engine.targets] == [("renamed", "hk")]
        assert runtime.engine.stats is first.stats  # counters carry over the reload
        assert gauges(runtime)[metrics.RELOAD_OK.name] == 1
        assert gauges(runtime)[metrics.RELOAD_TIME.name] > loaded


@pytest.mark.parametrize(
    "text", ["accounts: nope\n", "ucloud: {page_size: -5}\naccounts: []\n", ": not yaml: [\n"]
)
def test_reload_with_an_invalid_file_keeps_the_running_config(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, text: str
) -> None:
    with runtime_on(tmp_path, config_for(NOWHERE, [golden_account()])) as (runtime, path):
        engine, loaded = runtime.engine, gauges(runtime)[metrics.RELOAD_TIME.name]
        path.write_text(text)
        with caplog.at_level(logging.ERROR, logger="exporter.runtime"):
            assert runtime.reload() is False
        assert runtime.engine is engine
        assert gauges(runtime) == {metrics.RELOAD_OK.name: 0, metrics.RELOAD_TIME.name: loaded}
        assert caplog.records and all(
            "keeping the running config" in r.getMessage() for r in caplog.records
        )
        assert str(path) in caplog.text
        path.write_text(yaml.safe_dump(config_for(NOWHERE, [golden_account()])))
        assert runtime.reload() is True and gauges(runtime)[metrics.RELOAD_OK.name] == 1
