"""The e2e marker is on every test that starts a process or the simulator (a hook for
conftest.py).

Every child process (``subprocess.run``, ``Popen``, asyncio's subprocesses) raises the audit
event ``subprocess.Popen``, every simulated UCloud API ``exporter.simulator.start`` and every
real HTTP server in process ``exporter.web.serve``: an audit hook notes each one started
while a test's setup, call or teardown runs, and a test without the e2e marker that started
one fails. ``pytest -m "not e2e"``, the fast loop, thus starts none: not
the exporter, Prometheus, promtool, Alertmanager, hadolint, a benchmark or load-test run, nor
the simulator. The simulator runs in a thread, not a process, but it is the far end of a
real loopback connection and the tests on it run on real time (timeouts, retries, key
lifetimes): with them the fast loop took 140 s, without them 66 s (serial, on a shared
2-core machine). Small loopback stand-ins for one protocol detail (tests/support/recorder.py,
metadata.py, stalled.py) are not counted; the real uvicorn server with real TLS clients
(``exporter.web.server.serve`` in process: the web-config tables, TLS and auth tests) is,
for the same reason as the simulator.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Generator
from typing import Any

import pytest

from exporter.simulator.server import SIMULATOR_STARTED
from exporter.web.server import SERVER_STARTED

#: What each process started since the last phase's report was asked to run.
_started: list[str] = []
#: Audit events that start what the rule counts, besides ``subprocess.Popen``: the simulator
#: (``Simulator.start``) and the exporter's real HTTP server (``exporter.web.server.serve``).
STARTS = (SIMULATOR_STARTED, SERVER_STARTED)


def _audit(event: str, args: tuple[Any, ...]) -> None:
    """Note a child process or a counted start (``sys.addaudithook``: no library patched)."""
    if event == "subprocess.Popen":
        program = args[1] if len(args) > 1 else args[0]
        whole = isinstance(program, (str, bytes, os.PathLike))
        _started.append((str(program) if whole else " ".join(map(str, program)))[:120])
    elif event in STARTS:
        _started.append(f"{event} {args[0] if args else ''}".strip())


sys.addaudithook(_audit)


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
