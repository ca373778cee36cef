"""Clients that ask for a big page and never read it (issue 20), bounded in count and time.

``stalled_run``: ``clients`` connections each send one request for a plain page of about 9 MB
(a fleet of generated buckets) and then never read. Two variants, one after the other on the
same exporter: ``distinct``, each with a scrape timeout of its own (a page each, none
shared), and ``query``, each with only a ``?x=i`` of its own (which does not change the
answer). While they hold: ``/-/healthy`` and ``/-/ready`` (a few times each), one legitimate
gzip scrape with a 10 s timeout, and the exporter's RSS, threads and open fds; then, once the
attackers closed, how long until health answers 200 again and what the exporter holds.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from exporter.simulator import Simulator, fleet_from_dict
from loadtest.attacks import status_of
from loadtest.runs import PRIVATE_KEY, PUBLIC_KEY, exporter_config
from loadtest.scrape import Outcome
from tests.support.process import ExporterProcess, ProcStats, proc_stats
from tests.support.stalled import request_head, stalled

REGIONS = ("cn-bj2", "cn-sh2")
BUCKETS_PER_REGION = 20_000  # two regions: a plain page of about 9 MB
SERIES_MARK = "ucloud_image_bucket_images{"  # one line per bucket
TIMEOUT_HEADER = "X-Prometheus-Scrape-Timeout-Seconds"
LEGIT_TIMEOUT = 10.0  # the legitimate scrape's timeout, sent as its header and waited for
PROBE_TIMEOUT = 5.0  # a health or readiness request
PROBE_ROUNDS = 3  # /-/healthy and /-/ready each this many times per variant
RECOVERY_LIMIT = 45.0  # seconds to wait, after the attackers closed, for health to answer 200
SAMPLE_EVERY = 0.05  # seconds between /proc readings while the attackers hold


@dataclass
class Variant:
    """What one variant of the attack did to the exporter."""

    name: str  # "distinct" (a page each) or "query" (only ?x=i differs)
    attackers: Counter[int] = field(default_factory=Counter)  # status each was sent (0: none)
    probes: list[tuple[str, Outcome]] = field(default_factory=list)  # /-/healthy, /-/ready
    legit: Outcome | None = None
    peak: ProcStats | None = None  # the highest of each figure while the attackers held
    after: ProcStats | None = None  # 1 s after health answered 200 again once they closed
    tcp_mib: float = 0.0  # the host's TCP buffer memory at its peak, less before the attack
    recovered_after: float = 0.0  # seconds from the attackers' close to health 200 again
    cpu_seconds: float = 0.0  # the exporter's CPU time while the attackers held (pages made)


@dataclass
class StalledResult:
    """Both variants, the idle exporter they started from, and the page size."""

    clients: int
    hold: float
    page_bytes: int = 0
    idle: ProcStats | None = None  # after the warm-up scrape, before any attack
    alone: Outcome | None = None  # the legitimate scrape before any attack
    variants: list[Variant] = field(default_factory=list)
    exit_code: int = 0

    def growth_mib(self, v: Variant) -> float:
        """Return the RSS at the variant's peak less the idle exporter's, in MiB."""
        if self.idle is None or v.peak is None:
            return 0.0
        return (v.peak.rss_kib - self.idle.rss_kib) / 1024

    def problems(self, *, health_limit: float = 1.0, rss_limit_mib: float = 100.0) -> list[str]:
        """Return broken promises: health within 1 s, the scrape within its timeout, RSS."""
        out = []
        for v in self.variants:
            out += [
                f"stalled {v.name}: {path} {o.status} in {o.seconds:.2f} s"
                for path, o in v.probes
                if o.status != 200 or o.seconds > health_limit
            ]
            legit = v.legit
            if legit is None or not legit.complete or legit.seconds > LEGIT_TIMEOUT:
                said = f"{legit.status} in {legit.seconds:.2f} s {legit.problem}" if legit else ""
                out.append(f"stalled {v.name}: legitimate scrape {said or 'not made'}")
            if (grown := self.growth_mib(v)) >= rss_limit_mib:
                out.append(f"stalled {v.name}: RSS grew by {grown:.0f} MiB")
        if self.page_bytes < 7_000_000:
            out.append(f"the plain page was {self.page_bytes} bytes, not about 9 MB")
        if self.exit_code != 0:
            out.append(f"exporter exited {self.exit_code}")
        return out


def tcp_pages() -> int:
    """Return the pages of memory the host's TCP sockets hold (/proc/net/sockstat ``mem``)."""
    for line in Path("/proc/net/sockstat").read_text().splitlines():
        if line.startswith("TCP:"):
            fields = line.split()
            return int(fields[fields.index("mem") + 1])
    return 0


class _Peak:
    """Read /proc every ``SAMPLE_EVERY`` s in a thread; keep each figure's highest.

    The exporter's RSS, fds and threads, and the host's TCP memory: what a connection's send
    queue holds is the kernel's, not in the exporter's RSS (host-wide: other jobs count too).
    """

    def __init__(self, pid: int) -> None:
        self._pid = pid
        self.peak = proc_stats(pid)
        self.tcp_before = self.tcp_peak = tcp_pages()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY):
            try:
                s = proc_stats(self._pid)
            except (FileNotFoundError, ProcessLookupError):
                return
            p = self.peak
            self.peak = ProcStats(
                max(p.rss_kib, s.rss_kib), max(p.fds, s.fds), max(p.threads, s.threads)
            )
            self.tcp_peak = max(self.tcp_peak, tcp_pages())

    def tcp_mib(self) -> float:
        """Return the host's TCP memory at its peak less before, in MiB."""
        return (self.tcp_peak - self.tcp_before) * os.sysconf("SC_PAGE_SIZE") / 2**20

    def __enter__(self) -> _Peak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


def cpu_seconds(pid: int) -> float:
    """Return the user and system CPU time ``pid`` has used, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _get(
    client: httpx.Client, path: str, *, timeout: float, headers: dict[str, str] | None = None
) -> Outcome:
    """GET ``path``; a scrape is complete when it is whole and gzip."""
    started = time.monotonic()
    try:
        response = client.get(path, headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        return Outcome(0, time.monotonic() - started, False, type(exc).__name__)
    seconds, status = time.monotonic() - started, response.status_code
    if path != "/metrics" or status != 200:
        return Outcome(status, seconds, status == 200, "" if status == 200 else f"HTTP {status}")
    lines = response.text.count(SERIES_MARK)
    encoding = response.headers.get("content-encoding", "identity")
    whole = lines == len(REGIONS) * BUCKETS_PER_REGION and encoding == "gzip"
    return Outcome(status, seconds, whole, "" if whole else f"{encoding}, {lines} bucket lines")


def _legit(client: httpx.Client) -> Outcome:
    headers = {"Accept-Encoding": "gzip", TIMEOUT_HEADER: f"{LEGIT_TIMEOUT:g}"}
    return _get(client, "/metrics", timeout=LEGIT_TIMEOUT, headers=headers)


def _sent_status(sock: socket.socket) -> int:
    """Return the status of what the server sent ``sock`` so far (0: nothing), unread."""
    try:
        head = sock.recv(16, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except OSError:
        return 0
    return status_of(head)


def _recover(client: httpx.Client) -> float:
    """Return seconds until /-/healthy answers 200 (at most ``RECOVERY_LIMIT``)."""
    started = time.monotonic()
    while time.monotonic() - started < RECOVERY_LIMIT:
        if _get(client, "/-/healthy", timeout=PROBE_TIMEOUT).status == 200:
            break
        time.sleep(0.2)
    return time.monotonic() - started


def _attack(
    exp: ExporterProcess, client: httpx.Client, name: str, heads: list[bytes], hold: float
) -> Variant:
    """Hold ``heads`` unread for ``hold`` s, probe, close them, wait for health again."""
    v = Variant(name)
    cpu = cpu_seconds(exp.pid)
    with _Peak(exp.pid) as peak:
        with stalled(exp.port, heads) as socks:
            time.sleep(hold)  # every page made, each written as far as its client read
            for _ in range(PROBE_ROUNDS):
                for path in ("/-/healthy", "/-/ready"):
                    v.probes.append((path, _get(client, path, timeout=PROBE_TIMEOUT)))
                time.sleep(0.1)
            v.legit = _legit(client)
            v.attackers = Counter(_sent_status(s) for s in socks)
            v.cpu_seconds = cpu_seconds(exp.pid) - cpu
        v.recovered_after = _recover(client)
    v.peak, v.tcp_mib = peak.peak, peak.tcp_mib()
    time.sleep(1.0)  # what the closed connections held is released
    v.after = proc_stats(exp.pid)
    return v


def stalled_run(workdir: Path, *, clients: int, hold: float = 3.0) -> StalledResult:
    """Run both variants with ``clients`` (at most 1 000) non-reading clients of a ~9 MB page."""
    if not 0 < clients <= 1000:
        raise ValueError(f"clients must be 1 to 1000, got {clients}")
    result = StalledResult(clients, hold)
    regions = {r: {"synthetic": BUCKETS_PER_REGION} for r in REGIONS}
    fleet = fleet_from_dict(
        {"accounts": [{"public_key": PUBLIC_KEY, "private_key": PRIVATE_KEY, "regions": regions}]}
    )
    with Simulator(fleet) as sim:
        config = exporter_config(sim.url, list(REGIONS), page_size=1000, timeout_seconds=10)
        config["collect"] = {"min_interval_seconds": 600}  # one listing: the web face is measured
        exp = ExporterProcess(workdir, config)
        # A new connection per request, as a prober makes.
        limits = httpx.Limits(max_keepalive_connections=0)
        client = httpx.Client(base_url=exp.url, limits=limits)
        try:
            plain = client.get("/metrics", headers={"Accept-Encoding": "identity"}, timeout=60)
            result.page_bytes = len(plain.content)
            del plain
            result.alone = _legit(client)
            result.idle = proc_stats(exp.pid)
            variants = {
                # A time budget each (20.000 s, 20.001 s, ...: the share key has it to the
                # millisecond, and below the write timeout): no two share a page, on any version.
                "distinct": [
                    request_head(f"/metrics?x={i}", [(TIMEOUT_HEADER, f"{20 + i / 1000:.3f}")])
                    for i in range(clients)
                ],
                # Only the query differs: one shared page where the query is not in the key.
                "query": [request_head(f"/metrics?x={i}") for i in range(clients)],
            }
            for name, heads in variants.items():
                result.variants.append(_attack(exp, client, name, heads, hold))
        finally:
            client.close()
            result.exit_code = exp.stop()
    return result
