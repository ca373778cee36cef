"""The e2e marker is on every test that starts a process or the simulator (a hook for
conftest.py).

Every child process (``subprocess.run``, ``Popen``, asyncio's subprocesses) goes through
``Popen.__init__``, and every simulated UCloud API through ``Simulator.start``: each one
started while a test's setup, call or teardown runs is noted, and a test without the e2e
marker that started one fails. ``pytest -m "not e2e"``, the fast loop, thus starts none: not
the exporter, Prometheus, promtool, Alertmanager, hadolint, a benchmark or load-test run, nor
the simulator. The simulator runs in a thread, not a process, but it is the far end of a
real loopback connection and the tests on it run on real time (timeouts, retries, key
lifetimes): with them the fast loop took 140 s, without them 66 s (serial, on a shared
2-core machine). Small loopback stand-ins for one protocol detail (tests/support/recorder.py,
metadata.py, stalled.py) are not counted.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Generator
from typing import Any

import pytest

from exporter.simulator import Simulator

#: What each process started since the last phase's report was asked to run.
_started: list[str] = []
_popen_init = subprocess.Popen.__init__


def _noting_init(self: subprocess.Popen[Any], args: Any, *rest: Any, **kw: Any) -> None:
    whole = isinstance(args, (str, bytes, os.PathLike))
    _started.append((str(args) if whole else " ".join(map(str, args)))[:120])
    _popen_init(self, args, *rest, **kw)


subprocess.Popen.__init__ = _noting_init  # type: ignore[method-assign]
_simulator_start = Simulator.start


def _noting_start(self: Simulator) -> Simulator:
    _started.append(f"the simulator at {self.url}")
    return _simulator_start(self)


Simulator.start = _noting_start  # type: ignore[method-assign]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Forget what was started before the test (by a plugin, at configuration time)."""
    _started.clear()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, None]:
    """Fail the phase of a test without the e2e marker in which a process was started."""
    outcome = yield
    started, _started[:] = list(_started), []
    report = outcome.get_result()
    if started and item.get_closest_marker("e2e") is None and not report.failed:
        report.outcome = "failed"
        report.longrepr = (
            f"{item.nodeid} started {len(started)} process(es) or simulator(s) without the e2e "
            "marker "
            f"(first: {started[0]!r}); mark it @pytest.mark.e2e (or the module: "
            "pytestmark = pytest.mark.e2e), or keep it in-process"
        )
