"""Golden-file end-to-end test of the exposition, and ``promtool check metrics`` over it.

Regenerate after an intended change with ``UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py``
and review the diff.
"""

from __future__ import annotations

import difflib
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.support.procs import config_for, golden_account
from tests.support.realparts import require_binary

pytestmark = pytest.mark.e2e  # every test here starts a process

GOLDEN = Path(__file__).resolve().parent / "golden" / "exposition.prom"
# Series whose values differ run to run: timings, wall-clock times, the process itself.
UNSTABLE = re.compile(
    r"^(process_|python_|ucloud_image_bucket_scrape_duration_seconds"
    r"|ucloud_image_bucket_\w*last_\w*success_timestamp_seconds)"
)


def stable(text: str) -> str:
    """Drop unstable families (samples, HELP and TYPE) and pin the Python version."""
    keep = []
    for line in text.splitlines():
        name = line.split(" ")[2] if line.startswith("# ") else line
        if UNSTABLE.match(name):
            continue
        keep.append(re.sub(r'python_version="[^"]*"', 'python_version="X"', line))
    return "\n".join(keep) + "\n"


def scrape_golden(simulator, start_exporter):
    """Scrape the golden fleet plus one account whose private key is wrong."""
    wrong_key = golden_account(name="wrongkey", private_key="not-the-key", regions=["hk"])
    exp = start_exporter(config_for(simulator.url, [golden_account(), wrong_key]))
    return exp.get().text


def test_exposition_matches_golden_file(simulator, start_exporter):
    actual = stable(scrape_golden(simulator, start_exporter))
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(actual)
    expected = GOLDEN.read_text()
    diff = "".join(
        difflib.unified_diff(
            expected.splitlines(True), actual.splitlines(True), str(GOLDEN), "actual exposition"
        )
    )
    assert not diff, f"exposition changed (UPDATE_GOLDEN=1 to accept):\n{diff}"


def promtool_check(text: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require_binary("promtool"), "check", "metrics"],
        input=text,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_promtool_accepts_golden_file():
    result = promtool_check(GOLDEN.read_text())
    assert result.returncode == 0 and not result.stdout.strip() and not result.stderr.strip(), (
        result.stdout + result.stderr
    )


def test_promtool_accepts_live_output(simulator, start_exporter):
    result = promtool_check(scrape_golden(simulator, start_exporter))
    assert result.returncode == 0 and not result.stdout.strip() and not result.stderr.strip(), (
        result.stdout + result.stderr
    )


@pytest.mark.parametrize(
    "bad", ["# TYPE x_total gauge\nx_total 1\n", "# HELP y help\n# TYPE y counter\ny 1\n"]
)
def test_promtool_check_can_fail(bad):
    result = promtool_check(bad)
    assert result.returncode != 0 or result.stdout.strip() or result.stderr.strip()
