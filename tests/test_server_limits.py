"""The production server against hostile and careless clients, on 127.0.0.1, bounded in time.

One test per limit: read-header timeout, body timeout, connection cap, request cap, HEAD,
half requests. The short slowloris and burst scenarios run in tests/test_load.py, through
``python -m loadtest --quick``.
"""

from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest

from exporter.simulator import Simulator, golden_fleet
from tests.support.procs import config_for, golden_account

pytestmark = pytest.mark.e2e  # every test here starts a process

ACTION = "GetImageBucketList"


def _raw(port: int, data: bytes = b"") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    if data:
        sock.sendall(data)
    return sock


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


@pytest.fixture
def slow_sim():
    """The golden fleet answering every upstream call after 0.3 s."""
    with Simulator(golden_fleet(), latency=0.3) as sim:
        yield sim


def test_excess_requests_get_a_fast_503_with_retry_after(slow_sim, start_exporter) -> None:
    exp = start_exporter(config_for(slow_sim.url, [golden_account()]), "--web.max-requests", "1")
    answers: list[httpx.Response] = []
    # Different scrape timeouts: these do not share one answer, each needs a request slot.
    first = threading.Thread(
        target=lambda: answers.append(
            exp.get("/metrics", headers={"X-Prometheus-Scrape-Timeout-Seconds": "20"})
        )
    )
    first.start()
    time.sleep(0.15)
    start = time.monotonic()
    second = exp.get("/metrics", headers={"X-Prometheus-Scrape-Timeout-Seconds": "19"})
    took = time.monotonic() - start
    first.join(30)
    assert second.status_code == 503 and second.headers["Retry-After"] == "1"
    assert took < 0.5, took
    assert answers[0].status_code == 200
    assert exp.get("/metrics").status_code == 200  # the slot is free again


def test_identical_scrapes_share_one_answer(slow_sim, start_exporter) -> None:
    exp = start_exporter(config_for(slow_sim.url, [golden_account()]), "--web.max-requests", "1")
    answers: list[httpx.Response] = []
    threads = [
        threading.Thread(target=lambda: answers.append(exp.get("/metrics"))) for _ in range(5)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert [a.status_code for a in answers] == [200] * 5
    assert len({a.text.count("\n") for a in answers}) == 1
    slow_sim.reset_counts()
    assert exp.get("/metrics").status_code == 200
    one = slow_sim.request_count(action=ACTION)
    assert exp.get("/metrics").status_code == 200  # one after another: never a stale copy
    assert one > 0 and slow_sim.request_count(action=ACTION) == 2 * one


def test_connection_cap_closes_the_oldest_waiting_connection(simulator, start_exporter):
    exp = start_exporter(
        config_for(simulator.url, [golden_account()]), "--web.max-connections", "5"
    )
    idle = [_raw(exp.port) for _ in range(5)]
    try:
        time.sleep(0.2)
        with httpx.Client() as c:
            assert c.get(exp.url + "/metrics", timeout=10).status_code == 200
        oldest = _read_all(idle[0])
        assert oldest.startswith(b"HTTP/1.1 503 ") and b"Retry-After: 1\r\n" in oldest
    finally:
        for s in idle:
            s.close()


def test_stalled_body_gets_408_and_is_closed(simulator, start_exporter) -> None:
    exp = start_exporter(
        config_for(simulator.url, [golden_account()]),
        "--web.read-timeout",
        "1",
        "--web.enable-lifecycle",
    )
    sock = _raw(
        exp.port, b"POST /-/reload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789"
    )
    start = time.monotonic()
    answer = _read_all(sock)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:100]
    assert 0.8 < time.monotonic() - start < 3


def test_read_header_timeout_counts_from_connect(simulator, start_exporter) -> None:
    exp = start_exporter(
        config_for(simulator.url, [golden_account()]), "--web.read-header-timeout", "1"
    )
    sock = _raw(exp.port)
    start = time.monotonic()
    sock.settimeout(0.3)
    closed = False
    while not closed and time.monotonic() - start < 5:
        try:
            sock.send(b"G")  # a byte now and then does not extend the deadline
            closed = sock.recv(1) == b""
        except TimeoutError:
            pass
        except OSError:
            closed = True
    sock.close()
    assert closed and 0.9 < time.monotonic() - start < 2.5


def test_half_request_and_head_start_no_collection(simulator, start_exporter) -> None:
    exp = start_exporter(config_for(simulator.url, [golden_account()]))
    simulator.reset_counts()
    half = _raw(exp.port, b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    half.close()
    head = httpx.head(exp.url + "/metrics", timeout=10)
    probe = httpx.head(exp.url + "/probe?account=golden", timeout=10)
    time.sleep(0.5)
    assert simulator.request_count(action=ACTION) == 0
    assert head.status_code == 200 and head.content == b"" and probe.status_code == 200
    assert head.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert exp.get("/metrics").status_code == 200
    assert simulator.request_count(action=ACTION) > 0  # the counter does count


def test_answers_on_a_kept_alive_connection_do_not_wait_for_a_delayed_ack(
    simulator, start_exporter
) -> None:
    # Prometheus reuses its connection. An answer leaves in two writes (head, then body);
    # with Nagle's algorithm on, the body waited for the client's delayed ACK: 40-44 ms added
    # to every request on a reused connection (the first one, in TCP's quick-ACK start, not).
    exp = start_exporter(config_for(simulator.url, [golden_account()]))
    with socket.create_connection(("127.0.0.1", exp.port), timeout=5) as conn:
        times = []
        for _ in range(8):
            started = time.perf_counter()
            conn.sendall(b"GET /-/healthy HTTP/1.1\r\nHost: exporter\r\n\r\n")
            answer = b""
            while not answer.endswith(b"\r\n\r\nOK\n"):
                answer += conn.recv(4096)
            times.append(time.perf_counter() - started)
    assert sorted(times[1:])[3] < 0.030, [round(t * 1000, 1) for t in times]
