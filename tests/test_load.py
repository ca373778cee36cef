"""The short load and soak runs of ``python -m loadtest --quick``: invariants, not timings."""

from __future__ import annotations

from loadtest.__main__ import report_load, report_soak
from loadtest.runs import load_run, soak_run


def test_concurrent_scrapers_share_collections(tmp_path) -> None:
    result = load_run(tmp_path, scrapers=10, seconds=3)
    report_load(result)  # figures, shown with pytest -s
    assert len(result.outcomes) >= 10
    assert all(o.status == 200 and o.complete for o in result.outcomes), \
        [o.problem for o in result.outcomes if not o.complete][:3]
    assert result.problems() == []  # includes: listings of a target never overlap
    listings = max(result.listings.values())
    assert listings < len(result.outcomes) / 2  # concurrent scrapes did share them


def test_soak_with_random_faults_keeps_resources_flat(tmp_path) -> None:
    result = soak_run(tmp_path, scrapes=150, batch=25)
    report_soak(result)
    assert len(result.outcomes) == 150 and len(result.stats) == 6
    assert all(o.status == 200 and o.complete for o in result.outcomes), \
        [o.problem for o in result.outcomes if not o.complete][:3]
    assert len(result.faults) >= 20  # most fault kinds were drawn
    assert result.problems(fd_margin=8, thread_margin=4) == []
