"""Faults from the UCloud API against the real exporter process: only the faulty target fails.

One exporter and one simulator serve every catalogue case (``tests.support.faults.CASES``): each
case scrapes once healthy, injects its fault on one target (victim, cn-bj2), scrapes again and
checks that target's reason and counters while the three other targets stay whole, then
clears the fault and checks the victim recovers. Faults that hit the whole gateway address
(refused, connect timeout, a truncated HTTP body) get their own exporter.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator

import pytest

from exporter.simulator import Fleet, Simulator
from tests.support.faultrig import (
    BUDGET,
    RETRIES,
    TARGETS,
    TIMEOUT,
    VICTIM_KEY,
    Scrape,
    assert_clean,
    assert_failed,
    assert_whole,
    fault_config,
    fault_fleet,
    images,
    scrape,
)
from tests.support.faults import CASES, CREATED, IMAGES, FaultCase, Target
from tests.support.procs import Exporter

pytestmark = pytest.mark.e2e  # every test here starts a process


class Rig:
    """One simulator and one exporter process shared by the catalogue cases."""

    def __init__(self, workdir) -> None:
        self.sim = Simulator(fault_fleet()).start()
        self.exp = Exporter(workdir, fault_config(self.sim.url))

    def reset(self) -> None:
        """Clear faults and restore the fleet."""
        self.sim.clear_faults()
        self.sim.fleet = fault_fleet()

    def close(self) -> None:
        """Stop both; the exporter must exit 0."""
        code = self.exp.stop()
        self.sim.stop()
        assert code == 0, self.exp.logs()


@pytest.fixture(scope="module")
def rig(tmp_path_factory) -> Iterator[Rig]:
    """Start the shared simulator and exporter."""
    shared = Rig(tmp_path_factory.mktemp("faults"))
    yield shared
    shared.close()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_fault_costs_only_its_target(rig: Rig, case: FaultCase) -> None:
    rig.reset()
    before = scrape(rig.exp)
    expected = fault_fleet()
    for account, reg in TARGETS:
        assert_whole(before, account, reg, expected)
    target = Target(rig.sim, VICTIM_KEY, "cn-bj2", TIMEOUT)
    spoiled = target.bucket_name(1)
    case.inject(target)
    after = scrape(rig.exp)
    assert after.seconds < BUDGET + 1
    for account, reg in TARGETS[1:]:
        assert_whole(after, account, reg, expected)
    if case.reason is not None:
        assert_failed(after, "victim", "cn-bj2", case.reason)
    else:
        check_partial(after, case, expected, spoiled)
    errors = after.errors("victim", "cn-bj2") - before.errors("victim", "cn-bj2")
    assert errors == (
        Counter({case.reason: case.errors(RETRIES)}) if case.errors(RETRIES) else Counter()
    )
    assert grew(before, after, "ucloud_image_bucket_invalid_entries_total", "field") == (
        Counter({case.invalid: 1}) if case.invalid else Counter()
    )
    assert grew(before, after, "ucloud_image_bucket_paging_inconsistencies_total", "kind") == (
        Counter({case.odd: 1}) if case.odd else Counter()
    )
    assert_clean(after, rig.exp.logs())
    rig.sim.clear_faults()
    assert_whole(scrape(rig.exp), "victim", "cn-bj2", rig.sim.fleet)  # recovers at once


def grew(before: Scrape, after: Scrape, name: str, label: str) -> Counter[str]:
    """Return how much a victim cn-bj2 counter grew, by ``label``."""

    def by(m: Scrape) -> Counter[str]:
        return Counter(
            {
                dict(labels)[label]: int(v)
                for labels, v in m.series(name, "victim", "cn-bj2").items()
            }
        )

    return by(after) - by(before)


def check_partial(m: Scrape, case: FaultCase, expected: Fleet, spoiled: str) -> None:
    """A target that stays up: every bucket counted, a bad field costs only its series."""
    assert m.get("ucloud_image_bucket_up", account="victim", region="cn-bj2") == 1
    assert not m.series("ucloud_image_bucket_error_info", "victim", "cn-bj2")
    buckets = expected.buckets(VICTIM_KEY, "cn-bj2")[: case.reported]
    want = {b.name: b.image_count for b in buckets}
    got = images(m, "victim", "cn-bj2")
    counted = m.series("ucloud_image_buckets", "victim", "cn-bj2")
    if not case.exact:  # offset paging over a list that shifted: nothing doubled or invented
        assert set(got) <= {*want, "shifted-in"} and len(got) >= len(want) - 2
        assert all(v == want.get(n, 1) for n, v in got.items())
        assert sum(counted.values()) == len(got)
        return
    for family in (IMAGES, CREATED):
        names = {dict(labels)["bucket"] for labels in m.series(family, "victim", "cn-bj2")}
        assert names == set(want) - ({spoiled} if family in case.lacks else set()), family
    assert got == {n: v for n, v in want.items() if n in got}
    assert sum(counted.values()) == len(want)  # every bucket counts, whatever its fields
    unknown = frozenset({"account": "victim", "region": "cn-bj2", "type": "unknown"}.items())
    assert counted.get(unknown, 0) == (1 if case.unknown_type else 0)


def assert_every_target_failed(exp: Exporter, reason: str, *, attempts: int | None = None) -> None:
    """Scrape once: in budget, every target failed for ``reason``, nothing escaped."""
    m = scrape(exp)
    assert m.seconds < BUDGET + 1
    for account, reg in TARGETS:
        assert_failed(m, account, reg, reason)
        if attempts is not None:
            assert m.errors(account, reg)[reason] == attempts
    assert_clean(m, exp.logs())


def test_connection_refused_after_a_healthy_scrape(tmp_path) -> None:
    sim = Simulator(fault_fleet()).start()
    exp = Exporter(tmp_path, fault_config(sim.url))
    try:
        for account, reg in TARGETS:
            assert_whole(scrape(exp), account, reg, sim.fleet)
        sim.stop()  # the port is closed now: connections are refused
        assert_every_target_failed(exp, "transport", attempts=RETRIES + 1)
    finally:
        sim.stop()
        assert exp.stop() == 0


@contextlib.contextmanager
def full_backlog() -> Iterator[str]:
    """Yield the URL of a loopback socket that never accepts and whose backlog is full."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    fillers = []
    try:
        for _ in range(8):  # a SYN to a full accept queue is dropped: connect() hangs
            s = socket.socket()
            s.settimeout(0.3)
            fillers.append(s)
            try:
                s.connect(listener.getsockname())
            except TimeoutError:
                break
        else:
            pytest.fail("could not fill the listen backlog")
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/"
    finally:
        for s in fillers:
            s.close()
        listener.close()


def test_connect_timeout(tmp_path) -> None:
    with full_backlog() as url:
        exp = Exporter(tmp_path, fault_config(url))
        try:
            assert_every_target_failed(exp, "timeout", attempts=RETRIES + 1)
        finally:
            assert exp.stop() == 0


@contextlib.contextmanager
def truncating_server() -> Iterator[str]:
    """Yield the URL of a loopback server that promises 1000 body bytes, sends 14, closes."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        deadline = time.monotonic() + 60
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                conn, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            with conn:
                conn.settimeout(2)
                with contextlib.suppress(OSError):
                    conn.recv(65536)
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        b'Content-Length: 1000\r\n\r\n{"RetCode": 0,'
                    )

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/"
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def test_truncated_http_body(tmp_path) -> None:
    with truncating_server() as url:
        exp = Exporter(tmp_path, fault_config(url))
        try:
            assert_every_target_failed(exp, "transport")
        finally:
            assert exp.stop() == 0
