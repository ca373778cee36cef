"""Faults from the UCloud API against the real exporter process: only the faulty target fails.

One exporter and one simulator serve every catalogue case (``loadtest.faults.CASES``): each
case scrapes once healthy, injects its fault on one target (victim, cn-bj2), scrapes again and
checks that target's reason and counters while the three other targets stay whole, then
clears the fault and checks the victim recovers. Faults that hit the whole gateway address
(refused, connect timeout, a truncated HTTP body) get their own exporter.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from exporter.config import Account, Secret, UCloudSettings
from exporter.simulator import Account as SimAccount
from exporter.simulator import Bucket, Fleet, Simulator
from exporter.ucloud import (
    DecodeError,
    Listing,
    RequestTimeout,
    UCloudClient,
    list_image_buckets,
)
from loadtest.faults import CASES, CREATED, IMAGES, FaultCase, Target
from tests.procs import Exporter, config_for

VICTIM_KEY, BYSTANDER_KEY = "victim-public-key", "bystander-public-key"
VICTIM_SECRET = "victim-PRIVATE-do-not-leak-7f3a9c"
BYSTANDER_SECRET = "bystander-PRIVATE-do-not-leak-c41d"
TARGETS = (("victim", "cn-bj2"), ("victim", "cn-sh2"), ("bystander", "cn-bj2"),
           ("bystander", "hk"))
KEYS = {"victim": VICTIM_KEY, "bystander": BYSTANDER_KEY}
TIMEOUT, RETRIES, HEADER = 1.0, 1, 10.0
BUDGET = HEADER - 0.5  # the default --web.timeout-offset
Key = tuple[str, frozenset[tuple[str, str]]]


def region(prefix: str, n: int) -> list[Bucket]:
    """Return ``n`` buckets, alternately private and public, with distinct counts."""
    return [Bucket(f"{prefix}/app-{i}", "Public" if i % 3 == 0 else "Private", 10 + i,
                   1_600_000_000 + i) for i in range(n)]


def fault_fleet() -> Fleet:
    """Two accounts, four targets: victim cn-bj2 has 7 buckets (4 pages of 2)."""
    return Fleet([
        SimAccount(VICTIM_KEY, VICTIM_SECRET, set(),
                   {"cn-bj2": region("victim-bj2", 7), "cn-sh2": region("victim-sh2", 3)}),
        SimAccount(BYSTANDER_KEY, BYSTANDER_SECRET, set(),
                   {"cn-bj2": region("bystander-bj2", 5), "hk": []}),
    ])


def accounts() -> list[dict[str, object]]:
    """Return the config entries of both accounts."""
    return [{"name": "victim", "public_key": VICTIM_KEY, "private_key": VICTIM_SECRET,
             "regions": ["cn-bj2", "cn-sh2"]},
            {"name": "bystander", "public_key": BYSTANDER_KEY,
             "private_key": BYSTANDER_SECRET, "regions": ["cn-bj2", "hk"]}]


def fault_config(base_url: str) -> dict[str, object]:
    """Return the exporter config for the fault rig."""
    return config_for(base_url, accounts(), ucloud={"timeout_seconds": TIMEOUT,
                                                    "retries": RETRIES, "page_size": 2})


@dataclass
class Scrape:
    """One parsed exposition and how long it took."""

    text: str
    seconds: float
    samples: dict[Key, float]
    keys: list[Key]

    def get(self, name: str, **labels: str) -> float | None:
        """Return one sample's value, None when absent."""
        return self.samples.get((name, frozenset(labels.items())))

    def series(self, name: str, account: str, region: str) -> dict[frozenset[tuple[str, str]],
                                                                    float]:
        """Return the samples of ``name`` for one target, keyed by labels."""
        return {labels: v for (n, labels), v in self.samples.items() if n == name
                and ("account", account) in labels and ("region", region) in labels}

    def errors(self, account: str, region: str) -> Counter[str]:
        """Return api_errors_total of one target by reason."""
        return Counter({dict(labels)["reason"]: int(v) for labels, v in
                        self.series("ucloud_image_bucket_api_errors_total", account,
                                    region).items()})


def scrape(exp: Exporter, header: float = HEADER) -> Scrape:
    """GET /metrics with Prometheus's timeout header; parse it."""
    started = time.monotonic()
    response = exp.get("/metrics", headers={"X-Prometheus-Scrape-Timeout-Seconds": str(header)})
    seconds = time.monotonic() - started
    assert response.status_code == 200
    parsed = [(s.name, frozenset(s.labels.items()), s.value)
              for fam in text_string_to_metric_families(response.text) for s in fam.samples]
    return Scrape(response.text, seconds, {(n, labels): v for n, labels, v in parsed},
                  [(n, labels) for n, labels, _ in parsed])


def images(m: Scrape, account: str, region: str) -> dict[str, float]:
    """Return {bucket: ImageCount} reported for one target."""
    return {dict(labels)["bucket"]: v for labels, v in
            m.series("ucloud_image_bucket_images", account, region).items()}


def assert_whole(m: Scrape, account: str, region: str, fleet: Fleet) -> None:
    """Assert the target is up and reports exactly the fleet's buckets."""
    want = fleet.buckets(KEYS[account], region)
    assert m.get("ucloud_image_bucket_up", account=account, region=region) == 1
    assert images(m, account, region) == {b.name: b.image_count for b in want}
    for kind in ("private", "public"):
        assert m.get("ucloud_image_buckets", account=account, region=region, type=kind) == \
            sum(1 for b in want if b.type.lower() == kind)
    assert not m.series("ucloud_image_bucket_error_info", account, region)


def assert_failed(m: Scrape, account: str, region: str, reason: str) -> None:
    """Assert the target is down for ``reason`` and shows no bucket series at all."""
    assert m.get("ucloud_image_bucket_up", account=account, region=region) == 0
    assert set(m.series("ucloud_image_bucket_error_info", account, region)) == {
        frozenset({"account": account, "region": region, "reason": reason}.items())}
    for name in ("ucloud_image_buckets", "ucloud_image_bucket_images",
                 "ucloud_image_bucket_created_timestamp_seconds"):
        assert not m.series(name, account, region), name


def assert_clean(m: Scrape, logs: str) -> None:
    """Assert no duplicate series and no traceback in the exporter's log."""
    duplicates = [k for k, n in Counter(m.keys).items() if n > 1]
    assert not duplicates
    assert "Traceback" not in logs


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
    assert errors == (Counter({case.reason: case.errors(RETRIES)}) if case.errors(RETRIES)
                      else Counter())
    assert grew(before, after, "ucloud_image_bucket_invalid_entries_total", "field") == (
        Counter({case.invalid: 1}) if case.invalid else Counter())
    assert grew(before, after, "ucloud_image_bucket_paging_inconsistencies_total", "kind") == (
        Counter({case.odd: 1}) if case.odd else Counter())
    assert_clean(after, rig.exp.logs())
    rig.sim.clear_faults()
    assert_whole(scrape(rig.exp), "victim", "cn-bj2", rig.sim.fleet)  # recovers at once


def grew(before: Scrape, after: Scrape, name: str, label: str) -> Counter[str]:
    """Return how much a victim cn-bj2 counter grew, by ``label``."""
    def by(m: Scrape) -> Counter[str]:
        return Counter({dict(labels)[label]: int(v) for labels, v in
                        m.series(name, "victim", "cn-bj2").items()})
    return by(after) - by(before)


def check_partial(m: Scrape, case: FaultCase, expected: Fleet, spoiled: str) -> None:
    """A target that stays up: every bucket counted, a bad field costs only its series."""
    assert m.get("ucloud_image_bucket_up", account="victim", region="cn-bj2") == 1
    assert not m.series("ucloud_image_bucket_error_info", "victim", "cn-bj2")
    buckets = expected.buckets(VICTIM_KEY, "cn-bj2")[:case.reported]
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


def assert_every_target_failed(exp: Exporter, reason: str, *,
                               attempts: int | None = None) -> None:
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
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                 b"Content-Length: 1000\r\n\r\n{\"RetCode\": 0,")

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


# The client bugs these faults found, checked directly through httpx.MockTransport.

ACCOUNT = Account(name="a", public_key="pub", private_key=Secret("priv"), project_id=None,
                  regions=("r",))
ENTRY = {"BucketName": "b", "BucketType": "Private", "ImageCount": 1, "CreateTime": 1}


def listing(handler, *, timeout: float = 5.0, budget: float = 5.0, retries: int = 0):
    """Run one listing against ``handler``; return (result or exception, seconds)."""
    settings = UCloudSettings(base_url="https://api.example/", timeout_seconds=timeout,
                              page_size=1, retries=retries)

    async def go():
        client = UCloudClient(settings, transport=httpx.MockTransport(handler),
                              rng=random.Random(0))
        try:
            return await list_image_buckets(client, ACCOUNT, "r",
                                            deadline=time.monotonic() + budget,
                                            observe=lambda *_: None)
        except Exception as exc:
            return exc
        finally:
            await client.aclose()

    started = time.monotonic()
    outcome = asyncio.run(go())
    return outcome, time.monotonic() - started


@pytest.mark.parametrize("body", [b"[" * 100_000, b'{"RetCode": ' + b"1" * 5000 + b"}",
                                  b'{"RetCode": 0, "TotalCount": ' + b"9" * 5000 + b"}"],
                         ids=["nested-100k-deep", "retcode-5000-digits", "total-5000-digits"])
def test_hostile_json_is_a_decode_error(body: bytes) -> None:
    outcome, _ = listing(lambda request: httpx.Response(200, content=body))
    assert isinstance(outcome, DecodeError)  # was RecursionError / ValueError


def test_absurd_total_count_costs_a_window_not_every_page() -> None:
    page = {"RetCode": 0, "TotalCount": 10**12, "ImageSet": [ENTRY]}
    outcome, seconds = listing(lambda request: httpx.Response(200, json=page))
    assert isinstance(outcome, Listing) and len(outcome.buckets) == 1
    assert outcome.requests <= 1 + 8 and outcome.inconsistencies == {"repeated_page"}
    assert seconds < 2  # was: one task per page, gigabytes, far past the deadline


class SlowDrip(httpx.AsyncByteStream):
    """A body that sends one byte every 0.3 s: each read is quick, the whole is slow."""

    async def __aiter__(self):
        for _ in range(20):
            await asyncio.sleep(0.3)
            yield b" "
        yield b'{"RetCode": 0, "ImageSet": []}'


def test_slow_drip_body_is_bounded_by_timeout_seconds() -> None:
    outcome, seconds = listing(lambda request: httpx.Response(200, stream=SlowDrip()),
                               timeout=1.0, budget=8.0, retries=1)
    assert isinstance(outcome, RequestTimeout)  # was: read until the scrape deadline
    assert seconds < 4  # two attempts of about 1 s, not 8 s


def test_gzip_bomb_is_capped() -> None:
    bomb = gzip.compress(b" " * (64 * 1024 * 1024))
    outcome, _ = listing(lambda request: httpx.Response(
        200, content=bomb, headers={"Content-Encoding": "gzip"}))
    assert isinstance(outcome, DecodeError) and "larger than" in str(outcome)


def test_huge_gateway_message_is_truncated() -> None:
    answer = {"RetCode": 172, "Message": "x" * 1_000_000}
    outcome, _ = listing(lambda request: httpx.Response(200, json=answer))
    assert outcome.reason == "retcode_172" and len(str(outcome)) < 1000
