"""Keep ``python -m benchmarks`` working: run its quick variant and check its figures' shape.

Timings are never asserted (they are noise on a shared machine); upstream call counts are
deterministic, so those are asserted exactly. The benchmarks are a tool of their own: this
module runs them as a process (``--json`` and ``--markdown`` into a file with text around the
result markers) and their doctests (the latency bounds) with ``doctest.testmod`` in a
process of its own; it imports nothing from ``benchmarks``.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e  # every test here starts a process

ROOT = Path(__file__).resolve().parent.parent
# Run a module's doctests; print doctest's counts (failed, attempted) as JSON on the last line.
DOCTESTS = (
    "import doctest, importlib, json, sys; "
    "print(json.dumps(doctest.testmod(importlib.import_module(sys.argv[1]))._asdict()))"
)
TITLES = (
    "calibration",
    "latency",
    "bound",
    "render",
    "calls",
    "memory",
    "hostile",
    "pacing",
    "transport",
    "detached",
    "uhub",
    "compact",
    "calls_per_hour",
    "images",
    "budget",
    "goals",
)
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"  # benchmarks' result markers
AROUND = f"# Title\n\nkept above\n\n{BEGIN}\nold figures\n{END}\n\nkept below\n"


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str, str]:
    """Run ``python -m benchmarks --quick`` once; return its JSON, stdout and markdown file."""
    work = tmp_path_factory.mktemp("bench")
    out, markdown = work / "results.json", work / "bench.md"
    markdown.write_text(AROUND)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--quick",
            "--json",
            str(out),
            "--markdown",
            str(markdown),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(out.read_text()), done.stdout, markdown.read_text()


def pages(buckets: int, page_size: int) -> int:
    """Return the requests one listing of ``buckets`` needs (an empty list costs one)."""
    return max(1, math.ceil(buckets / page_size))


def rows(results: dict[str, Any], case: str) -> list[dict[str, Any]]:
    """Return the rows of one case's table."""
    tables = [t for t in results["tables"] if t["case"] == case]
    assert len(tables) == 1, f"want one {case} table, got {len(tables)}"
    assert tables[0]["rows"], f"{case} table is empty"
    return list(tables[0]["rows"])


def positive(value: Any) -> bool:
    """Tell whether ``value`` is a finite number above zero."""
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


def test_prints_every_table_and_the_machine(quick):
    results, stdout, _ = quick
    assert [t["case"] for t in results["tables"]] == list(TITLES)
    for table in results["tables"]:
        assert f"== {table['title']}" in stdout
    info = results["machine"]
    assert info["cpus"] >= 1 and info["python"].count(".") == 2 and info["date"][:2] == "20"
    assert results["command"] == "python -m benchmarks --quick"


def test_latency_rows_are_well_formed_and_calls_exact(quick):
    for row in rows(quick[0], "latency"):
        assert row["requests"] == row["R"] * pages(row["B"], 100)
        assert row["calls_exact"] is True, row
        assert 1 <= row["max_in_flight"] <= 16, row
        assert row["bound_lower_s"] >= row["bound_issue_s"] > 0
        for key in ("collect_s", "scrape_s", "collect/bound", "scrape/bound"):
            assert positive(row[key]), (key, row)
        assert row["scrape_s"] >= row["collect_s"] * 0.9  # a scrape contains its listing


def test_render_is_byte_identical_to_the_floor(quick):
    for row in rows(quick[0], "render"):
        assert row["identical"] is True, row
        assert row["series"] > 2 * row["buckets"]
        for key in ("exporter_ms", "exporter_cpu_ms", "floor_ms", "floor_cpu_ms", "cpu_ratio"):
            assert positive(row[key]), (key, row)


def test_upstream_calls_are_exact(quick):
    checks = rows(quick[0], "calls")
    for row in checks:
        assert row["measured_calls"] == row["expected_calls"], row
        assert row["exact"] is True, row
    by_name = {row["check"]: row for row in checks}
    assert (
        by_name["one target, B=101"]["expected_calls"]
        == 2 * by_name["one target, B=101"]["scrapes"]
    )
    assert by_name["min_interval 300 s: scrapes within it"]["measured_calls"] == 0
    assert by_name["32 concurrent scrapes, one collection"]["measured_calls"] == sum(
        pages(b, 100) for b in (0, 1, 100, 101, 250)
    )


def test_memory_figures_are_plausible(quick):
    values = {row["measure"]: row for row in rows(quick[0], "memory")}
    for name, row in values.items():
        if row["unit"] == "MiB" and not name.startswith("growth"):
            assert 5 < row["value"] < 4096, row
        if row["unit"] == "s":
            assert positive(row["value"]), row
    assert (
        values["start-up to first successful scrape"]["value"]
        > values["start-up to listening"]["value"]
    )
    assert values["peak RSS (VmHWM)"]["value"] >= values["RSS after the scrapes (VmRSS)"]["value"]


def test_hostile_gateway_stays_within_its_bounds(quick):
    checks = rows(quick[0], "hostile")
    assert len(checks) == 9
    for row in checks:
        assert row["holds"] is True, row
    by_scenario = {(row["scenario"], row["measure"]): row["value"] for row in checks}
    assert 5 < by_scenario["flood", "peak RSS (VmHWM), MiB"] < 256
    assert by_scenario["TotalCount 100,000, 5 real buckets", "calls per listing"] <= 9


def test_pacing_settles_near_the_throttle(quick):
    paced, fixed = rows(quick[0], "pacing")
    assert paced["adaptive"] is True and fixed["adaptive"] is False
    assert paced["finished"] is True and fixed["finished"] is True
    assert paced["throttled"] < fixed["throttled"]
    assert 0 < paced["rate/N"] <= 1.5


def test_detached_listings_serve_a_fleet_slower_than_the_scrape_timeout(quick):
    checks = rows(quick[0], "detached")
    assert [row["scrape"] for row in checks] == list(range(1, 8))
    assert all(row["within_timeout"] is True for row in checks)
    assert checks[-1]["targets_up"] == 8 and checks[-1]["holds"] is True


def test_compact_memory_rows_are_plausible(quick):
    values = {row["measure"]: row for row in rows(quick[0], "compact")}
    assert len(values) == 11
    for row in values.values():
        assert row["buckets"] == 4 * 500, row
        if row["unit"] in ("MiB", "s"):
            assert positive(row["value"]) and row["value"] < 4096, row
        assert row["holds"] is (None if row["goal"] is None else True), row
    per_bucket = values["bytes per bucket, (steady - idle) / buckets"]["value"]
    assert isinstance(per_bucket, float) and math.isfinite(per_bucket)


def test_transport_rows_cover_every_variant(quick):
    variants = {(row["transport"], row["loop"]) for row in rows(quick[0], "transport")}
    assert variants == {
        (transport, loop)
        for transport in ("httpx (httpcore)", "httpx-aiohttp")
        for loop in ("asyncio", "uvloop")
    }
    assert sum(row["default"] is True for row in rows(quick[0], "transport")) == 1
    for row in rows(quick[0], "transport"):
        assert row["requests"] == 2 * 10  # 2 regions x 1,000 buckets, page 100
        assert positive(row["cpu_ms_per_request"]) and row["wall/bound"] > 0.9
        assert positive(row["changed_ms"])
        assert row["serve_ms"] >= 0  # /proc's 10 ms ticks: a tiny cached scrape may read 0


def test_bound_rows_cover_each_in_flight_setting_with_exact_calls(quick):
    checks = rows(quick[0], "bound")
    assert [row["in_flight"] for row in checks] == [2, 4]
    for row in checks:
        assert row["requests"] == 2 * pages(250, 100) and row["calls_exact"] is True, row
        assert 1 <= row["max_in_flight"] <= row["in_flight"], row
        assert positive(row["scrape/bound"]) and row["sdk_loop_s"] is None, row
        # A client doing no work is never below the bound, and the exporter never below it.
        assert 0.98 <= row["floor/bound"] <= row["scrape/bound"] * 1.05, row


def test_uhub_refresh_calls_are_exact(quick):
    by_mode = {row["tag_counts"]: row for row in rows(quick[0], "uhub")}
    # 2 repos x 30 images, page 10: 2 GetRepo (private, public) + 2 x 3 GetRepoImage pages,
    # then one GetImageTag per selected image (top 5, or all 60).
    expected = {"off": (2, 6, 0), "top": (2, 6, 5), "all": (2, 6, 60)}
    for mode, (repo, image, tag) in expected.items():
        row = by_mode[mode]
        assert (row["GetRepo"], row["GetRepoImage"], row["GetImageTag"]) == (repo, image, tag)
        assert row["total"] == row["bound"] and row["holds"] is True
        assert row["tags_counted"] == tag


def test_calls_per_hour_fall_with_the_empty_interval(quick):
    """Quick: 3 projects x 4 regions, 2 occupied, one sixth of a compressed hour (40 scrapes,
    the empty targets relisted at the 40th). A fixed number of scrapes: before is exact; a
    late scrape (a busy machine) stretches the time, so after may only relist more."""
    got = {row["run"]: row for row in rows(quick[0], "calls_per_hour")}
    assert list(got) == ["before", "after"]
    before, after = got["before"], got["after"]
    assert (before["empty_interval_s"], after["empty_interval_s"]) == (0, 600)
    assert before["scrapes"] == after["scrapes"] == 40
    # after: 40 scrapes x 2 occupied; 10 empty targets relisted every 41st scrape (615 s)
    assert (before["expected/h"], after["expected/h"]) == (240 * 12, round(480 + 10 * 3600 / 615))
    assert before["calls/h"] == before["bucket_lists/h"] == 240 * 12  # no discovery in the part
    assert 480 + 10 * 6 <= after["calls/h"] < before["calls/h"], after  # relisted at the 40th
    assert after["expected_ratio"] == pytest.approx(2880 / (480 + 10 * 3600 / 615))
    assert any(r["goal"].startswith("calls per hour") for r in rows(quick[0], "goals"))


def test_latency_bounds_doctests() -> None:
    # doctest's own counts (TestResults), not its summary's wording, which 3.13 changed.
    done = subprocess.run(
        [sys.executable, "-c", DOCTESTS, "benchmarks.latency"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    counts = json.loads(done.stdout.splitlines()[-1])
    assert counts["attempted"] >= 2 and counts["failed"] == 0, done.stdout[-3000:]


def test_markdown_replaces_only_the_results(quick):
    results, _, text = quick
    assert "old figures" not in text
    assert text.startswith("# Title\n\nkept above\n") and text.endswith("\n\nkept below\n")
    assert f"{results['machine']['cpus']} CPUs" in text
    assert "`python -m benchmarks --quick`" in text
    for table in results["tables"]:
        assert table["title"] in text
    row = rows(results, "latency")[0]
    assert f"| {row['R']} | {row['B']} | {row['requests']} |" in text
    assert f"{row['bound_issue_s']:.3f}" in text  # floats with three decimals


def test_images_inside_buckets_cost_four_series_an_image_never_one_a_tag(quick):
    by_mode = {r["docker_images"]: r for r in rows(quick[0], "images")}
    added = by_mode["on"]["series"] - by_mode["off"]["series"]
    per_image = 4 * 40 * 5  # benchmarks/images.py QUICK: 40 buckets x 5 images
    # plus the source's health (up, duration, last success, listed buckets: one project) and
    # the account's GetDockerImageList request counter
    assert added == per_image + 5, by_mode
