"""No client can hurt another request (issue 20): stalled readers, shared answers with their own
deadlines, duplicate headers, the write deadline and shutdown during an answer.

Real exporter processes against the simulator on loopback; the pages are several megabytes,
built from a fleet of generated buckets.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from exporter.simulator import Simulator, fleet_from_dict
from tests.support.process import proc_stats
from tests.support.procs import Exporter, config_for, golden_account
from tests.support.stalled import read_all, request_head, send_raw, server_sockets, stalled

pytestmark = pytest.mark.e2e  # every test here starts a process

KEYS = {"public_key": "isolation-public", "private_key": "isolation-private"}
BIG = {"cn-bj2": {"synthetic": 20_000}, "cn-sh2": {"synthetic": 20_000}}  # a ~9 MB text page
SLOW_REGION = {"synthetic": 5, "quirks": {"delay_seconds": 30}}  # each page takes 30 s


def account(regions: list[str], name: str = "big") -> dict[str, Any]:
    return {"name": name, **KEYS, "regions": regions}


@pytest.fixture(scope="module")
def big_sim() -> Iterator[Simulator]:
    """A fleet whose /metrics page is about 9 MB of text, and a region that answers in 30 s."""
    fleet = fleet_from_dict({"accounts": [{**KEYS, "regions": {**BIG, "hk": SLOW_REGION}}]})
    with Simulator(fleet) as sim:
        yield sim


def big_exporter(start_exporter: Any, sim: Simulator, *args: str) -> Exporter:
    cfg = config_for(
        sim.url,
        [account(["cn-bj2", "cn-sh2"])],
        ucloud={"page_size": 1000, "timeout_seconds": 10},
        collect={"min_interval_seconds": 600},
    )
    exp: Exporter = start_exporter(cfg, *args)
    assert len(exp.get("/metrics", headers={"Accept-Encoding": "identity"}).content) > 7_000_000
    return exp


def timed(call: Any) -> tuple[Any, float]:
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def test_forty_clients_that_never_read_hold_no_slot_and_little_memory(big_sim, start_exporter):
    """Finding 1: 40 non-reading clients of 9 MB pages made every endpoint answer 503 for
    34 s (slots and whole recorded pages held until the client left) and RSS +392 MiB."""
    exp = big_exporter(start_exporter, big_sim)
    idle = proc_stats(exp.pid).rss_kib
    # Each asks for a page of its own (a different time budget), none of them shared.
    heads = [
        request_head(f"/metrics?x={i}", [("X-Prometheus-Scrape-Timeout-Seconds", f"{20 + i}")])
        for i in range(40)
    ]
    with stalled(exp.port, heads):
        time.sleep(3)  # every page made, each written as far as its client read
        health, took = timed(lambda: httpx.get(exp.url + "/-/healthy", timeout=5))
        assert health.status_code == 200 and took < 1.0, took
        ready = httpx.get(exp.url + "/-/ready", timeout=5)
        assert ready.status_code == 200
        scrape, took = timed(
            lambda: httpx.get(
                exp.url + "/metrics",
                headers={"Accept-Encoding": "gzip", "X-Prometheus-Scrape-Timeout-Seconds": "10"},
                timeout=10,
            )
        )
        assert scrape.status_code == 200 and took < 10, took
        assert scrape.headers["content-encoding"] == "gzip"
        assert scrape.text.count("ucloud_image_bucket_images{") == 40_000
        grown = proc_stats(exp.pid).rss_kib - idle
        assert grown < 100 * 1024, f"RSS grew {grown} KiB with 40 stalled clients"


def test_a_stalled_client_never_delays_the_scrapes_sharing_its_page(big_sim, start_exporter):
    """Finding 2: three identical scrapes waited for a client that never read the page they
    shared (past their timeout); alone the page took 0.16 s."""
    exp = big_exporter(start_exporter, big_sim)
    same = [("Accept", "*/*"), ("Accept-Encoding", "identity")]
    scrape_headers = dict(same) | {"X-Prometheus-Scrape-Timeout-Seconds": "25"}
    heads = [request_head("/metrics", [*same, ("X-Prometheus-Scrape-Timeout-Seconds", "25")])]
    took: list[float] = []

    def scrape() -> None:
        answer, seconds = timed(
            lambda: httpx.get(exp.url + "/metrics", headers=scrape_headers, timeout=20)
        )
        assert answer.status_code == 200 and len(answer.content) > 7_000_000
        took.append(seconds)

    with stalled(exp.port, heads):
        time.sleep(0.05)  # the stalled client leads
        threads = [threading.Thread(target=scrape) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    assert len(took) == 3 and max(took) < 5, took


def test_a_shared_answer_keeps_each_scrapes_own_deadline(big_sim, start_exporter):
    """Finding 3: a 3 s scrape joined to a 10 s one answered in 9.2 s (25.6 s when the first
    had no header; 13.2 s on /probe), because the share key left the timeout out."""
    cfg = config_for(
        big_sim.url,
        [account(["cn-bj2", "hk"])],
        ucloud={"page_size": 1000, "timeout_seconds": 60, "retries": 0},
    )
    exp: Exporter = start_exporter(cfg)
    took: dict[str, float] = {}

    def get(name: str, path: str, timeout: str) -> None:
        answer, seconds = timed(
            lambda: httpx.get(
                exp.url + path,
                headers={"X-Prometheus-Scrape-Timeout-Seconds": timeout},
                timeout=30,
            )
        )
        assert answer.status_code == 200
        took[name] = seconds

    probe = "/probe?account=big&region=hk"
    firsts = [
        threading.Thread(target=get, args=("metrics-10s", "/metrics", "10")),
        threading.Thread(target=get, args=("probe-10s", probe, "10")),
    ]
    for t in firsts:
        t.start()
    time.sleep(0.3)
    seconds = [
        threading.Thread(target=get, args=("metrics-3s", "/metrics", "3")),
        threading.Thread(target=get, args=("probe-3s", probe, "3")),
    ]
    for t in seconds:
        t.start()
    for t in [*firsts, *seconds]:
        t.join(30)
    assert took["metrics-3s"] < 3.2 and took["probe-3s"] < 3.2, took
    assert took["metrics-10s"] > 9, took  # the slow region really was slow


def test_duplicate_headers_are_one_list_or_refused(simulator, start_exporter):
    """Finding 9 and 10: a repeated Accept-Encoding gave a concurrent identity-only client
    gzip; an empty last one gave gzip to a client that sent none; gzip;q=0 was ignored."""
    slow = Simulator(simulator.fleet, latency=0.3).start()
    try:
        cfg = config_for(slow.url, [golden_account()])
        exp: Exporter = start_exporter(cfg)
        close = [("Connection", "close")]
        for leader, follower in [
            (
                [("Accept-Encoding", "gzip"), ("Accept-Encoding", "identity")],
                [("Accept-Encoding", "identity")],
            ),
            ([("Accept-Encoding", "gzip"), ("Accept-Encoding", "")], []),
        ]:
            answers: dict[str, bytes] = {}
            first = threading.Thread(
                target=lambda h=leader, answers=answers: answers.update(
                    leader=send_raw(exp.port, request_head("/metrics", [*h, *close]))
                )
            )
            first.start()
            time.sleep(0.1)
            answers["follower"] = send_raw(exp.port, request_head("/metrics", [*follower, *close]))
            first.join(30)
            assert b"content-encoding: gzip" in answers["leader"].lower()  # "gzip, identity"
            assert b"content-encoding" not in answers["follower"].lower(), follower
        refused = send_raw(
            exp.port, request_head("/metrics", [("Accept-Encoding", "gzip;q=0, identity"), *close])
        )
        assert refused.startswith(b"HTTP/1.1 200") and b"content-encoding" not in refused.lower()
        for name, value in [
            ("Authorization", "Basic YTpi"),
            ("Host", "example"),
            ("X-Prometheus-Scrape-Timeout-Seconds", "10"),
        ]:
            answer = send_raw(
                exp.port, request_head("/metrics", [(name, value), (name, value), *close])
            )
            assert answer.startswith(b"HTTP/1.1 400"), (name, answer[:200])
    finally:
        slow.stop()


def test_an_answer_not_written_by_the_write_timeout_is_cut(big_sim, start_exporter):
    """--web.write-timeout: from the end of the request head, like Go's WriteTimeout."""
    exp = big_exporter(start_exporter, big_sim, "--web.write-timeout", "2")
    heads = [request_head("/metrics", [("Accept-Encoding", "identity")])]
    with stalled(exp.port, heads) as (sock,):
        time.sleep(3)
        # Reset, not closed politely: no orphan is left holding megabytes the client never read
        assert server_sockets(exp.port)["FIN_WAIT1"] == 0, server_sockets(exp.port)
        data, closed = read_all(sock, timeout=5)
    assert closed and data.startswith(b"HTTP/1.1 200")
    assert len(data) < 7_000_000  # cut short, not written whole
    assert exp.get("/-/healthy").status_code == 200


@pytest.mark.parametrize("event", ["sigterm", "reload"])
def test_shutdown_or_reload_during_an_answer_is_one_warning_not_a_traceback(
    big_sim, start_exporter, event
):
    """Finding 11: SIGTERM during a large answer logged "Exception in ASGI application" with
    a CancelledError traceback; so did a reload."""
    exp = big_exporter(start_exporter, big_sim, "--web.enable-lifecycle")
    heads = [request_head("/metrics", [("Accept-Encoding", "identity")])]
    with stalled(exp.port, heads):
        time.sleep(1)
        if event == "reload":
            assert httpx.post(exp.url + "/-/reload", timeout=30).status_code == 200
            assert exp.get("/-/healthy").status_code == 200
            time.sleep(1)
        started = time.monotonic()
        exp.proc.send_signal(signal.SIGTERM)
        assert exp.proc.wait(15) == 0
        assert time.monotonic() - started < 10
    logs = exp.logs()
    assert "Traceback" not in logs and "Exception in ASGI application" not in logs, logs[-3000:]
    warnings = [ln for ln in logs.splitlines() if "level=warn" in ln or "level=error" in ln]
    assert len(warnings) == 1 and "closed 1 connections still answering" in warnings[0], warnings
