"""Run the real exporter as a process against an in-process simulator; read its RSS."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import yaml

from exporter.simulator import Fleet, synthetic_fleet
from exporter.simulator.fleet import region_id
from exporter.simulator.model import Account

PUBLIC_KEY = "bench-public-key"
PRIVATE_KEY = "bench-private-key"
PROJECT = "org-bench"
START_TIMEOUT = 30.0
SCRAPE_HEADERS = {"X-Prometheus-Scrape-Timeout-Seconds": "600"}


def pages(buckets: int, page_size: int) -> int:
    """Return the requests one listing of ``buckets`` needs (an empty list costs one)."""
    return max(1, math.ceil(buckets / page_size))


def fleet(sizes: list[int]) -> Fleet:
    """Build a one-account fleet whose i-th region holds ``sizes[i]`` synthetic buckets."""
    regions = {}
    for index, size in enumerate(sizes):
        one = synthetic_fleet(regions=1, buckets_per_region=size, public_key=PUBLIC_KEY,
                              private_key=PRIVATE_KEY, seed=index)
        regions[region_id(index)] = one.buckets(PUBLIC_KEY, region_id(0))
    return Fleet([Account(PUBLIC_KEY, PRIVATE_KEY, {PROJECT}, regions)])


def config(base_url: str, regions: int, *, page_size: int = 100, in_flight: int = 16,
           min_interval: float = 0.0, timeout: float = 30.0) -> dict[str, Any]:
    """Return an exporter configuration listing the first ``regions`` regions."""
    return {
        "ucloud": {"base_url": base_url, "page_size": page_size, "timeout_seconds": timeout,
                   "max_concurrent_requests": in_flight, "retries": 0},
        "collect": {"min_interval_seconds": min_interval},
        "accounts": [{"name": "bench", "public_key": PUBLIC_KEY, "private_key": PRIVATE_KEY,
                      "project_id": PROJECT,
                      "regions": [region_id(i) for i in range(regions)]}],
    }


class ExporterProcess:
    """``python -m exporter`` on a free loopback port, configured by ``cfg``."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="bench-exporter-")
        path = Path(self._dir.name) / "config.yaml"
        path.write_text(yaml.safe_dump(cfg))
        self._log_path = Path(self._dir.name) / "exporter.log"
        self._log = self._log_path.open("wb")
        self.spawned = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "exporter", "--config.file", str(path),
             "--web.listen-address", "127.0.0.1:0", "--log.format", "json"],
            stdout=self._log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": _root()})
        self.port = self._wait_port()
        self.listening = time.monotonic()
        self.url = f"http://127.0.0.1:{self.port}"
        self._http = httpx.Client(timeout=600)

    def _wait_port(self) -> int:
        """Poll the log for the ``listening`` line and return its port."""
        end = time.monotonic() + START_TIMEOUT
        while time.monotonic() < end:
            for line in self.logs().splitlines():
                if '"msg": "listening"' in line:
                    return int(json.loads(line)["port"])
            if self.proc.poll() is not None:
                break
            time.sleep(0.01)
        self.stop()
        raise RuntimeError(f"exporter did not start:\n{self.logs()}")

    def logs(self) -> str:
        """Return what the process logged so far."""
        return self._log_path.read_text(errors="replace")

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
        """SIGTERM, wait (kill after 10 s), clean up; return the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if hasattr(self, "_http"):
            self._http.close()
        self._log.close()
        self._dir.cleanup()
        return self.proc.returncode

    def __enter__(self) -> ExporterProcess:
        """Return self (the process is already running)."""
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        """Stop the process."""
        self.stop()


def _root() -> str:
    """Return the repository root, so ``-m exporter`` finds this checkout."""
    root = str(Path(__file__).resolve().parent.parent)
    existing = os.environ.get("PYTHONPATH")
    return f"{root}{os.pathsep}{existing}" if existing else root


def target_series(body: bytes, name: str) -> list[float]:
    """Return the sample values of family ``name`` in a text exposition."""
    start = body.find(b"\n# TYPE " + name.encode() + b" ")
    if start < 0:
        return []
    end = body.find(b"\n# ", start + 1)
    block = body[start + 1:] if end < 0 else body[start + 1:end]
    return [float(line.rsplit(b" ", 1)[1]) for line in block.split(b"\n")[1:] if line]


def count_series(body: bytes, name: str) -> int:
    """Count the samples of a family in a text exposition."""
    return body.count(b"\n" + name.encode() + b"{")
