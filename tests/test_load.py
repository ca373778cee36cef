"""``python -m loadtest --quick``: load, soak, slowloris, burst, stalled, uhub and a reload
storm, temporary keys refreshed under scrapes; invariants, not timings.

The load test is a tool of its own: the test runs it as users do, as a process, and holds it
to its exit status. Its invariants (``problems()`` of each run) include what this module used
to assert itself: every scraper got whole pages and concurrent scrapes shared listings; the
soak drew at least 20 fault kinds and kept fds and threads flat; the slowloris run closed
every attacker by the read-header timeout while legitimate scrapes went on; the burst was
answered in time; clients of a 9 MB page that never read left health, a scrape and RSS alone;
the reload storm cost no upstream call and no thread, descriptor or memory; no scrape failed
while keys expired and were refreshed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e  # every test here starts a process

ROOT = Path(__file__).resolve().parent.parent


def test_quick_load_soak_slowloris_burst_stalled_uhub_and_reload_storm() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "loadtest", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=400,
        check=False,
    )
    print(done.stdout)  # figures, shown with pytest -s
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    lines = done.stdout.splitlines()
    for run in (
        "load: 10 concurrent scrapers for 3 s",
        "soak: 150 scrapes",
        "slowloris: 100 idle connections and 30 clients",
        "burst: 400 requests",
        "uhub: a registry of 60000 images",
        "reload storm: 200 POST /-/reload",
        "stalled: 10 clients",
        "credentials: keys of 3 s",
    ):
        assert any(line.startswith(run) for line in lines), run
    assert lines[-1] == "OK" and "PROBLEM" not in done.stdout
