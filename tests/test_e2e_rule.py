"""A test that starts a process or the simulator without the e2e marker fails
(tests/support/e2e.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.process import child_env

pytestmark = pytest.mark.e2e

CASES = """
import subprocess
import sys

import pytest

from exporter.simulator import Simulator, golden_fleet


@pytest.fixture
def child():
    subprocess.run([sys.executable, "-c", "pass"], check=True)


def test_unmarked_run():
    subprocess.run([sys.executable, "-c", "pass"], check=True)


def test_unmarked_fixture(child):
    pass


def test_unmarked_simulator():
    with Simulator(golden_fleet()):
        pass


async def nothing(scope, receive, send):
    pass


def test_unmarked_server():
    from exporter.web.server import serve

    server = serve(nothing, "127.0.0.1:0")
    server.shutdown()
    server.server_close()


def test_in_process():
    assert 1 + 1 == 2


@pytest.mark.e2e
def test_marked(child):
    subprocess.Popen([sys.executable, "-c", "pass"]).wait()
"""


def test_a_process_started_without_the_marker_fails(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(
        "from tests.support.e2e import pytest_runtest_makereport, pytest_runtest_setup\n"
    )
    (tmp_path / "test_cases.py").write_text(CASES)
    options = ["-q", "-rA", "-p", "no:cacheprovider", "-p", "no:xdist"]
    run = subprocess.run(
        [sys.executable, "-m", "pytest", *options, "-o", "markers=e2e: starts processes"],
        check=False,
        capture_output=True,
        text=True,
        env=child_env(),
        cwd=tmp_path,
        timeout=60,
    )
    out = run.stdout
    assert "3 failed, 2 passed, 1 error" in out, out
    assert "FAILED test_cases.py::test_unmarked_run" in out, out
    assert "ERROR test_cases.py::test_unmarked_fixture" in out, out  # in the fixture's setup
    assert "test_unmarked_run started 1 process(es) or simulator(s) without the e2e marker" in out
    assert "FAILED test_cases.py::test_unmarked_simulator" in out, out
    assert "(first: 'exporter.simulator.start http" in out
    assert "FAILED test_cases.py::test_unmarked_server" in out, out
    assert "(first: 'exporter.web.serve 127.0.0.1:0" in out
    assert "PASSED test_cases.py::test_in_process" in out
    assert "PASSED test_cases.py::test_marked" in out
