"""The scrape deadline: Prometheus's timeout header minus --web.timeout-offset bounds a scrape.

A slow target costs only itself (``reason="deadline"``); retries and backoff stop at the
listing's own cap (``collect.listing_timeout_seconds``). Bounds on elapsed time are generous
(budget + 1 s) so a loaded CI machine passes.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from exporter.simulator import Fault, Simulator
from tests.support.faultrig import (
    TARGETS,
    VICTIM_KEY,
    accounts,
    assert_clean,
    assert_failed,
    assert_whole,
    fault_fleet,
    scrape,
)
from tests.support.procs import Exporter, config_for

pytestmark = pytest.mark.e2e  # every test here starts a process

MARGIN = 1.0  # seconds over the budget the answer may take on a busy machine


def patient_config(base_url: str) -> dict[str, object]:
    """Requests may take 10 s and are retried 10 times: only the deadline can stop them."""
    return config_for(
        base_url, accounts(), ucloud={"timeout_seconds": 10, "retries": 10, "page_size": 2}
    )


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    """Serve the fault fleet."""
    with Simulator(fault_fleet()) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def exp(sim: Simulator, tmp_path_factory) -> Iterator[Exporter]:
    """One patient exporter (default --web.timeout-offset 0.5)."""
    process = Exporter(tmp_path_factory.mktemp("deadline"), patient_config(sim.url))
    yield process
    assert process.stop() == 0, process.logs()


@pytest.fixture(autouse=True)
def no_faults(sim: Simulator) -> Iterator[None]:
    """Start and end every test without faults."""
    sim.clear_faults()
    yield
    sim.clear_faults()


def test_slow_target_misses_the_deadline_alone(sim: Simulator, exp: Exporter) -> None:
    sim.add_fault(Fault(delay=5), account=VICTIM_KEY, region="cn-bj2")
    m = scrape(exp, header=2)
    budget = 2 - 0.5
    assert m.seconds < budget + MARGIN
    assert m.seconds > budget - 0.2  # it did wait for the slow target until the budget
    assert_failed(m, "victim", "cn-bj2", "deadline")
    duration = m.get(
        "ucloud_image_bucket_scrape_duration_seconds", account="victim", region="cn-bj2"
    )
    assert duration is not None and budget - 0.2 < duration < budget + MARGIN
    for account, region in TARGETS[1:]:
        assert_whole(m, account, region, sim.fleet)
    assert_clean(m, exp.logs())
    sim.clear_faults()
    assert_whole(scrape(exp), "victim", "cn-bj2", sim.fleet)  # nothing left hanging


def test_retries_and_backoff_stop_at_the_listing_cap(sim: Simulator, tmp_path) -> None:
    """A listing has its own deadline (collect.listing_timeout_seconds), not the scrape's."""
    capped = Exporter(
        tmp_path, {**patient_config(sim.url), "collect": {"listing_timeout_seconds": 3}}
    )
    try:
        sim.add_fault(Fault(http_status=503), account=VICTIM_KEY, region="cn-bj2")
        m = scrape(capped, header=10)
        assert m.seconds < 3 + MARGIN  # the listing gave up at its 3 s cap, not at 9.5 s
        # The last error is reported, not "deadline": the backoff saw it would not fit.
        assert_failed(m, "victim", "cn-bj2", "http_503")
        attempts = m.errors("victim", "cn-bj2")["http_503"]
        assert 2 <= attempts < 11  # retried, but not all 10 retries (they need about 26 s)
        for account, region in TARGETS[1:]:
            assert_whole(m, account, region, sim.fleet)
        assert_clean(m, capped.logs())
    finally:
        assert capped.stop() == 0


def test_timeout_offset_flag_shrinks_the_budget(sim: Simulator, tmp_path) -> None:
    offset_exp = Exporter(tmp_path, patient_config(sim.url), "--web.timeout-offset", "2.5")
    try:
        sim.add_fault(Fault(delay=5), account=VICTIM_KEY, region="cn-bj2")
        m = scrape(offset_exp, header=4)
        budget = 4 - 2.5  # with the default offset it would be 3.5 s
        assert budget - 0.2 < m.seconds < budget + MARGIN
        assert_failed(m, "victim", "cn-bj2", "deadline")
        for account, region in TARGETS[1:]:
            assert_whole(m, account, region, sim.fleet)
        assert_clean(m, offset_exp.logs())
    finally:
        assert offset_exp.stop() == 0
