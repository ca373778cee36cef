"""Run the real exporter as a process against an in-process simulator; read its RSS."""

from __future__ import annotations

import asyncio
import math
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from exporter import config as exporter_config
from exporter.simulator import Account, Fleet, region_id, synthetic_fleet
from exporter.ucloud import Listing, UCloudClient, list_image_buckets
from tests.support import process

PUBLIC_KEY = "bench-public-key"
PRIVATE_KEY = "bench-private-key"
PROJECT = "org-bench"
START_TIMEOUT = 30.0
SCRAPE_HEADERS = {"X-Prometheus-Scrape-Timeout-Seconds": "600"}


async def list_regions(
    settings: exporter_config.UCloudSettings,
    regions: Sequence[str],
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    budget: float = 300.0,
) -> list[Listing | BaseException]:
    """List the bench account's ``regions`` concurrently on one client, as the engine does.

    A region whose listing failed gives its exception.
    """
    account = exporter_config.Account(
        name="bench",
        public_key=PUBLIC_KEY,
        private_key=exporter_config.Secret(PRIVATE_KEY),
        project_id=None,
        regions=tuple(regions),
    )
    client = UCloudClient(settings, transport=transport)
    deadline = time.monotonic() + budget
    try:
        return await asyncio.gather(
            *(
                list_image_buckets(
                    client, account, region, deadline=deadline, observe=lambda *_: None
                )
                for region in regions
            ),
            return_exceptions=True,
        )
    finally:
        await client.aclose()


def pages(buckets: int, page_size: int) -> int:
    """Return the requests one listing of ``buckets`` needs (an empty list costs one)."""
    return max(1, math.ceil(buckets / page_size))


def fleet(sizes: list[int]) -> Fleet:
    """Build a one-account fleet whose i-th region holds ``sizes[i]`` synthetic buckets."""
    regions = {}
    for index, size in enumerate(sizes):
        one = synthetic_fleet(
            regions=1,
            buckets_per_region=size,
            public_key=PUBLIC_KEY,
            private_key=PRIVATE_KEY,
            seed=index,
        )
        regions[region_id(index)] = one.buckets(PUBLIC_KEY, region_id(0))
    return Fleet([Account(PUBLIC_KEY, PRIVATE_KEY, {PROJECT}, regions)])


def config(
    base_url: str,
    regions: int,
    *,
    page_size: int = 100,
    in_flight: int = 16,
    min_interval: float = 0.0,
    timeout: float = 30.0,
) -> dict[str, Any]:
    """Return an exporter configuration listing the first ``regions`` regions."""
    return {
        "ucloud": {
            "base_url": base_url,
            "page_size": page_size,
            "timeout_seconds": timeout,
            "max_concurrent_requests": in_flight,
            "retries": 0,
        },
        # Every target listed at every scrape, an empty one too: the figures count listings.
        "collect": {"min_interval_seconds": min_interval, "empty_interval_seconds": 0},
        "accounts": [
            {
                "name": "bench",
                "public_key": PUBLIC_KEY,
                "private_key": PRIVATE_KEY,
                "project_id": PROJECT,
                "regions": [region_id(i) for i in range(regions)],
            }
        ],
    }


class ExporterProcess(process.ExporterProcess):
    """``python -m exporter`` in a temporary directory, JSON logs, with an HTTP client."""

    def __init__(self, cfg: dict[str, Any], *flags: str) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="bench-exporter-")
        super().__init__(
            Path(self._dir.name), cfg, "--log.format", "json", *flags, start_timeout=START_TIMEOUT
        )
        self._http = httpx.Client(timeout=600)

    def scrape(self, path: str = "/metrics") -> tuple[float, bytes]:
        """GET the telemetry path; return (seconds, body); raise unless 200."""
        started = time.perf_counter()
        response = self._http.get(self.url + path, headers=SCRAPE_HEADERS)
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"GET {path}: HTTP {response.status_code}")
        return elapsed, response.content

    def memory(self) -> dict[str, int]:
        """Return VmRSS and VmHWM (peak RSS) of the process in KiB."""
        out = {}
        with open(f"/proc/{self.proc.pid}/status", encoding="ascii") as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    out[key] = int(rest.split()[0])
        return out

    def cpu_seconds(self) -> float:
        """Return the user + system CPU seconds the process has used so far."""
        with open(f"/proc/{self.proc.pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> int:
        """Stop the process, close the client, remove the directory; return the exit code."""
        code = super().stop()
        if hasattr(self, "_http"):
            self._http.close()
        self._dir.cleanup()
        return code


def target_series(body: bytes, name: str) -> list[float]:
    """Return the sample values of family ``name`` in a text exposition."""
    start = body.find(b"\n# TYPE " + name.encode() + b" ")
    if start < 0:
        return []
    end = body.find(b"\n# ", start + 1)
    block = body[start + 1 :] if end < 0 else body[start + 1 : end]
    return [float(line.rsplit(b" ", 1)[1]) for line in block.split(b"\n")[1:] if line]


def count_series(body: bytes, name: str) -> int:
    """Count the samples of a family in a text exposition."""
    return body.count(b"\n" + name.encode() + b"{")
