"""Hostile and careless clients against the real exporter on 127.0.0.1, bounded in time.

* ``slowloris_run``: idle connections plus clients sending their request head a byte at a
  time, while a legitimate scraper scrapes; when does the server close the attackers, what
  does it cost in memory, what do the scrapes see.
* ``burst_run``: many requests whose connections were opened together and sent at once (a
  barrier), plus one legitimate scrape during the burst; how long each waits for its answer.
* ``reload_storm_run``: ``POST /-/reload`` of an unchanged config from a few clients at once,
  with SIGHUPs among them, while a legitimate scraper scrapes; what it costs upstream and in
  threads, descriptors and memory.
"""

from __future__ import annotations

import contextlib
import math
import selectors
import signal
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from exporter.simulator import Simulator, region_id, synthetic_fleet
from loadtest.runs import PRIVATE_KEY, PUBLIC_KEY, exporter_config
from loadtest.scrape import Outcome, percentile, scrape
from tests.support.process import ExporterProcess, ProcStats, proc_stats

REQUEST_HEAD = b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: attacker\r\n\r\n"
REGIONS = 4


def _fleet_config(sim: Simulator) -> dict[str, object]:
    return exporter_config(sim.url, [region_id(i) for i in range(REGIONS)], page_size=100)


def _simulator(buckets: int) -> Simulator:
    return Simulator(
        synthetic_fleet(
            regions=REGIONS,
            buckets_per_region=buckets // REGIONS,
            public_key=PUBLIC_KEY,
            private_key=PRIVATE_KEY,
        )
    )


def figures(values: list[float]) -> str:
    """Return ``p50 … s, p99 … s, max … s`` of ``values``."""
    return (
        f"p50 {percentile(values, 50):.3f} s, p99 {percentile(values, 99):.3f} s, "
        f"max {max(values, default=math.nan):.3f} s"
    )


@dataclass
class SlowlorisResult:
    """What the legitimate scraper saw and when the server dropped each attacker."""

    idle: int
    slow: int
    header_timeout: float
    scrapes: list[Outcome] = field(default_factory=list)
    closed_after: list[float] = field(default_factory=list)  # seconds from connect to close
    still_open: int = 0
    rss_growth_mib: float = 0.0
    exit_code: int = 0

    def problems(self, *, scrape_limit: float = 2.0, rss_limit_mib: float = 100.0) -> list[str]:
        """Return the broken promises of the issue's first figure."""
        out = [
            f"legitimate scrape: {o.problem or 'too slow'} ({o.seconds:.2f} s)"
            for o in self.scrapes
            if o.status != 200 or o.seconds > scrape_limit
        ][:5]
        if len(self.scrapes) < 3:
            out.append(f"only {len(self.scrapes)} legitimate scrapes during the attack")
        if len(self.closed_after) + self.still_open != self.idle + self.slow:
            out.append(
                f"{len(self.closed_after)} closed and {self.still_open} open of "
                f"{self.idle + self.slow} attackers"
            )
        if min(self.closed_after, default=self.header_timeout) < self.header_timeout * 2 / 3:
            out.append(
                f"an attacker was closed after {min(self.closed_after):.2f} s, before "
                f"the read-header timeout could have (something else closed it)"
            )
        bound = self.header_timeout + 10
        late = [t for t in self.closed_after if t > bound]
        if self.still_open or late:
            out.append(
                f"{self.still_open} attackers never closed, {len(late)} closed after {bound:g} s"
            )
        if self.rss_growth_mib >= rss_limit_mib:
            out.append(f"RSS grew by {self.rss_growth_mib:.0f} MiB")
        if self.exit_code != 0:
            out.append(f"exporter exited {self.exit_code}")
        return out


def _open(n: int, port: int) -> list[socket.socket]:
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.setblocking(False)
        socks.append(s)
    return socks


class _Watch:
    """Record when the server closes each socket (a read of b"" or a reset)."""

    def __init__(self, socks: list[socket.socket], opened: float) -> None:
        self._sel = selectors.DefaultSelector()
        self.open = set(socks)
        self.closed_after: list[float] = []
        self._opened = opened
        for s in socks:
            self._sel.register(s, selectors.EVENT_READ)

    def poll(self, seconds: float) -> None:
        for key, _ in self._sel.select(seconds):
            s = key.fileobj
            assert isinstance(s, socket.socket)
            try:
                data = s.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                self._sel.unregister(s)
                self.open.discard(s)
                self.closed_after.append(time.monotonic() - self._opened)


def slowloris_run(
    workdir: Path,
    *,
    idle: int,
    slow: int,
    drip: float,
    header_timeout: float,
    buckets: int = 1000,
    scrape_every: float = 0.5,
) -> SlowlorisResult:
    """Open ``idle`` silent and ``slow`` dripping connections; scrape until all are closed."""
    result = SlowlorisResult(idle, slow, header_timeout)
    with _simulator(buckets) as sim:
        exp = ExporterProcess(
            workdir, _fleet_config(sim), "--web.read-header-timeout", str(header_timeout)
        )
        socks: list[socket.socket] = []
        try:
            client = httpx.Client()
            scrape(client, exp.url, targets=REGIONS)  # warm up
            before = proc_stats(exp.pid).rss_kib
            peak = before
            opened = time.monotonic()
            socks = _open(idle, exp.port)
            slow_socks = _open(slow, exp.port)
            socks += slow_socks
            watch = _Watch(socks, opened)
            end = opened + header_timeout + 15
            next_drip = next_scrape = time.monotonic()
            sent = 0
            while watch.open and time.monotonic() < end:
                now = time.monotonic()
                if now >= next_drip:
                    for s in slow_socks:
                        if s in watch.open:
                            with contextlib.suppress(OSError):
                                s.send(REQUEST_HEAD[sent % len(REQUEST_HEAD) :][:1])
                    sent, next_drip = sent + 1, now + drip
                if now >= next_scrape:
                    result.scrapes.append(scrape(client, exp.url, targets=REGIONS))
                    peak = max(peak, proc_stats(exp.pid).rss_kib)
                    next_scrape = time.monotonic() + scrape_every
                watch.poll(0.05)
            result.closed_after, result.still_open = watch.closed_after, len(watch.open)
            result.rss_growth_mib = (peak - before) / 1024
            client.close()
        finally:
            for s in socks:
                s.close()
            result.exit_code = exp.stop()
    return result


@dataclass
class BurstResult:
    """How long each burst request and the legitimate scrape waited, and what they got."""

    requests: int
    waits: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    legit: Outcome | None = None
    exit_code: int = 0

    def problems(self, *, legit_limit: float = 5.0, wait_limit: float = 10.0) -> list[str]:
        """Return the broken promises of the issue's second figure."""
        out = []
        if self.legit is None or self.legit.status != 200 or self.legit.seconds > legit_limit:
            out.append(f"legitimate scrape during the burst: {self.legit}")
        late = [w for w in self.waits if w > wait_limit]
        unanswered = self.requests - len(self.waits)
        if late or unanswered or self.statuses[0]:
            out.append(
                f"{len(late)} burst requests waited over {wait_limit:g} s, "
                f"{unanswered + self.statuses[0]} unanswered"
            )
        if self.exit_code != 0:
            out.append(f"exporter exited {self.exit_code}")
        return out


def status_of(answer: bytes) -> int:
    """Return the status code of a raw HTTP answer (0 when it has no status line)."""
    head = answer.split(b"\r\n", 1)[0].split()
    return int(head[1]) if len(head) > 1 and head[1].isdigit() else 0


def _exchange(
    port: int,
    n: int,
    barrier: threading.Barrier,
    *,
    result: BurstResult,
    lock: threading.Lock,
    timeout: float,
) -> None:
    """Open ``n`` connections, wait for everyone, send on all, read every answer."""
    socks = [socket.create_connection(("127.0.0.1", port), timeout=timeout) for _ in range(n)]
    try:
        barrier.wait(timeout)
        sent = time.monotonic()
        for s in socks:
            s.sendall(REQUEST_HEAD.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
        for s in socks:
            chunks = []
            with contextlib.suppress(OSError):
                while chunk := s.recv(262144):
                    chunks.append(chunk)
            with lock:
                result.waits.append(time.monotonic() - sent)
                result.statuses[status_of(b"".join(chunks))] += 1
    finally:
        for s in socks:
            s.close()


def burst_run(
    workdir: Path,
    *,
    threads: int,
    per_thread: int,
    buckets: int = 1000,
    legit_delay: float = 0.2,
    timeout: float = 30.0,
) -> BurstResult:
    """Send ``threads`` x ``per_thread`` requests at once; scrape once during the burst."""
    result, lock = BurstResult(threads * per_thread), threading.Lock()
    with _simulator(buckets) as sim:
        exp = ExporterProcess(workdir, _fleet_config(sim))
        try:
            scrape(httpx.Client(), exp.url, targets=REGIONS)  # warm up
            barrier = threading.Barrier(threads + 1)
            workers = [
                threading.Thread(
                    target=_exchange,
                    daemon=True,
                    args=(exp.port, per_thread, barrier),
                    kwargs={"result": result, "lock": lock, "timeout": timeout},
                )
                for _ in range(threads)
            ]
            for w in workers:
                w.start()
            barrier.wait(timeout)
            time.sleep(legit_delay)
            with httpx.Client() as client:
                result.legit = scrape(client, exp.url, targets=REGIONS)
            for w in workers:
                w.join(timeout + 5)
        finally:
            result.exit_code = exp.stop()
    return result


@dataclass
class ReloadStormResult:
    """What a reload storm cost: upstream calls, the process's resources, the scrapes seen."""

    posts: int
    sighups: int
    seconds: float = 0.0
    statuses: Counter[int] = field(default_factory=Counter)
    upstream_calls: int = 0  # during the storm, scrapes included (they are cached)
    before: ProcStats | None = None
    peak: ProcStats | None = None  # the most threads, descriptors and RSS seen during it
    after: ProcStats | None = None  # right after the last reload
    settled: ProcStats | None = None  # a few seconds later
    scrapes: list[Outcome] = field(default_factory=list)
    exit_code: int = 0

    def problems(
        self, *, threads: int = 2, fds: int = 8, rss_mib: float = 16.0, scrape_limit: float = 2.0
    ) -> list[str]:
        """Return the broken promises of issue 20: no upstream call, no growth, no failure."""
        out = []
        if self.statuses != Counter({200: self.posts}):
            out.append(f"reload answers {dict(self.statuses)}, want {self.posts} x 200")
        if self.upstream_calls:
            out.append(f"{self.upstream_calls} upstream calls for an unchanged config")
        before = self.before
        for label, seen in (("after", self.after), ("settled", self.settled)):
            if before is None or seen is None:
                out.append(f"no process figures {label} the storm")
                continue
            if seen.threads > before.threads + threads or seen.fds > before.fds + fds:
                out.append(
                    f"{label}: threads {before.threads} -> {seen.threads}, "
                    f"fds {before.fds} -> {seen.fds}"
                )
            if (seen.rss_kib - before.rss_kib) / 1024 >= rss_mib:
                out.append(
                    f"{label}: RSS {before.rss_kib / 1024:.0f} -> {seen.rss_kib / 1024:.0f} MiB"
                )
        out += [
            f"legitimate scrape: {o.problem or 'too slow'} ({o.seconds:.2f} s)"
            for o in self.scrapes
            if not o.complete or o.seconds > scrape_limit
        ][:5]
        if self.exit_code != 0:
            out.append(f"exporter exited {self.exit_code}")
        return out


def _post_reloads(url: str, n: int, result: ReloadStormResult, lock: threading.Lock) -> None:
    with httpx.Client(timeout=60) as client:
        for _ in range(n):
            try:
                status = client.post(url + "/-/reload").status_code
            except httpx.HTTPError:
                status = 0
            with lock:
                result.statuses[status] += 1


def _peak(a: ProcStats | None, b: ProcStats) -> ProcStats:
    if a is None:
        return b
    return ProcStats(max(a.rss_kib, b.rss_kib), max(a.fds, b.fds), max(a.threads, b.threads))


def reload_storm_run(
    workdir: Path,
    *,
    posts: int,
    sighups: int = 5,
    senders: int = 4,
    buckets: int = 200,
    settle: float = 5.0,
) -> ReloadStormResult:
    """Send ``posts`` reloads of an unchanged config from ``senders`` clients and ``sighups``
    SIGHUPs, scraping meanwhile; measure the process before, during, right after, and
    ``settle`` s after the storm."""
    result, lock = ReloadStormResult(posts, sighups), threading.Lock()
    pool = 4 * senders  # --web.max-requests
    with _simulator(buckets) as sim:
        cfg = exporter_config(sim.url, [region_id(i) for i in range(REGIONS)], page_size=100)
        cfg["collect"] = {"min_interval_seconds": 300}  # scrapes are served from the cache
        cfg["uhub"] = {"refresh_seconds": 3600}
        cfg["accounts"][0]["uhub"] = True
        exp = ExporterProcess(
            workdir, cfg, "--web.enable-lifecycle", "--web.max-requests", str(pool)
        )
        try:
            client = httpx.Client()
            scrape(client, exp.url, targets=REGIONS)  # warm: every target listed once
            end = time.monotonic() + 10
            while "ucloud_uhub_up{" not in client.get(exp.url + "/metrics").text:
                if time.monotonic() > end:
                    break
                time.sleep(0.1)  # UHub's first refresh runs in the background
            client.post(exp.url + "/-/reload")  # warm: what a first reload allocates once
            result.before, calls = proc_stats(exp.pid), sim.request_count()
            started = time.monotonic()
            workers = _senders(exp.url, senders, result, lock)
            hups = 0
            while any(w.is_alive() for w in workers):
                if hups < sighups:
                    exp.proc.send_signal(signal.SIGHUP)
                    hups += 1
                result.scrapes.append(scrape(client, exp.url, targets=REGIONS))
                result.peak = _peak(result.peak, proc_stats(exp.pid))
                time.sleep(0.05)
            for w in workers:
                w.join(60)
            result.seconds = time.monotonic() - started
            result.after = proc_stats(exp.pid)
            time.sleep(settle)  # what a reload started in the background has cost by now
            result.settled = proc_stats(exp.pid)
            result.upstream_calls = sim.request_count() - calls
            client.close()
        finally:
            result.exit_code = exp.stop()
    return result


def _senders(
    url: str, n: int, result: ReloadStormResult, lock: threading.Lock
) -> list[threading.Thread]:
    """Start ``n`` threads sending ``result.posts`` reloads between them."""
    share = [result.posts // n + (i < result.posts % n) for i in range(n)]
    workers = [
        threading.Thread(target=_post_reloads, args=(url, k, result, lock), daemon=True)
        for k in share
    ]
    for w in workers:
        w.start()
    return workers
