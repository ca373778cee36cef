"""A registry far beyond ``uhub.max_images`` against the real exporter (issue 20 item 4).

The simulator serves one account with 1,000 buckets in 4 regions and a UHub registry of
8 repositories whose images are generated per request (a fleet file's ``images: <count>``).
After the exporter's first UHub refresh, scrapes with ``X-Prometheus-Scrape-Timeout-Seconds``
must answer in time, whole (every bucket series), with UHub series bounded by the cap, and the
exporter's RSS must stay below a bound.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from exporter import metrics
from exporter.config import UHubSettings
from exporter.simulator import Simulator, fleet_from_dict, region_id
from loadtest.runs import PRIVATE_KEY, PUBLIC_KEY, exporter_config
from tests.support.process import ExporterProcess, proc_stats

REGIONS, BUCKETS, REPOS = 4, 1_000, 8
MAX_IMAGES = UHubSettings().max_images  # the default, which the run keeps
UHUB_PREFIX = "ucloud_uhub_"


@dataclass(frozen=True)
class UHubScrape:
    """One scrape of the big registry: status, seconds, bytes, series by kind, RSS after it."""

    status: int
    seconds: float
    size: int
    bucket_series: int  # per-bucket lines (ImageCount and CreateTime)
    uhub_series: int  # ucloud_uhub_* sample lines
    rss_mib: float


@dataclass
class UHubResult:
    """What scrapes of an exporter holding a registry of ``images`` images saw."""

    images: int
    header: float
    refresh_seconds: float = 0.0  # from start until the first UHub series appeared
    scrapes: list[UHubScrape] = field(default_factory=list)
    rss_before_mib: float = 0.0
    rss_peak_mib: float = 0.0
    exit_code: int = 0

    def problems(self, *, rss_limit_mib: float = 400.0) -> list[str]:
        """Return the broken promises: late or cut answers, unbounded series, memory."""
        out = []
        if not self.scrapes:
            out.append("no UHub refresh ended")
        for s in self.scrapes:
            if s.status != 200 or s.seconds > self.header:
                out.append(f"uhub scrape: HTTP {s.status} in {s.seconds:.2f} s")
            if s.bucket_series != 2 * BUCKETS:
                out.append(f"uhub scrape: {s.bucket_series} bucket series, want {2 * BUCKETS}")
            # up, duration, last success, repos; per repo 2; per image at most 3 (pulls,
            # updated, tags): what MAX_IMAGES allows.
            bound = 4 + 2 * REPOS + 3 * MAX_IMAGES
            if s.uhub_series > bound:
                out.append(f"uhub scrape: {s.uhub_series} UHub series, more than {bound}")
        if self.rss_peak_mib >= rss_limit_mib:
            out.append(f"uhub: exporter RSS {self.rss_peak_mib:.0f} MiB")
        if self.exit_code != 0:
            out.append(f"uhub: exporter exited {self.exit_code}")
        return out[:8]


def uhub_fleet(images: int) -> dict[str, object]:
    """Return the fleet file (as parsed YAML) of the run: ``images`` over 8 repositories."""
    per_repo = images // REPOS
    regions = {region_id(i): {"synthetic": BUCKETS // REGIONS} for i in range(REGIONS)}
    return {
        "accounts": [
            {
                "public_key": PUBLIC_KEY,
                "private_key": PRIVATE_KEY,
                "regions": regions,
                "repos": [{"name": f"repo-{k + 1:02d}", "images": per_repo} for k in range(REPOS)],
            }
        ]
    }


def _scrape(client: httpx.Client, url: str, header: float, pid: int) -> UHubScrape:
    started = time.perf_counter()
    response = client.get(
        url + "/metrics",
        timeout=header + 30,
        headers={"X-Prometheus-Scrape-Timeout-Seconds": str(header)},
    )
    seconds = time.perf_counter() - started
    text = response.text
    per_bucket = tuple(f"{f.name}{{" for f in metrics.PER_BUCKET)
    lines = text.splitlines()
    return UHubScrape(
        response.status_code,
        seconds,
        len(response.content),
        sum(line.startswith(per_bucket) for line in lines),
        sum(line.startswith(UHUB_PREFIX) for line in lines),
        proc_stats(pid).rss_kib / 1024,
    )


def uhub_run(
    workdir: Path, *, images: int, scrapes: int = 5, header: float = 10.0, wait: float = 600.0
) -> UHubResult:
    """Serve a registry of ``images`` images; scrape ``scrapes`` times after its first refresh."""
    result = UHubResult(images, header)
    with Simulator(fleet_from_dict(uhub_fleet(images), source="uhub fleet")) as sim:
        config = exporter_config(sim.url, [region_id(i) for i in range(REGIONS)], page_size=1000)
        config["accounts"][0]["uhub"] = True
        config["uhub"] = {"refresh_seconds": 3600}
        exp = ExporterProcess(workdir, config)
        try:
            result.rss_before_mib = proc_stats(exp.pid).rss_kib / 1024
            started = time.monotonic()
            up = f"{metrics.UHUB_UP.name}{{"
            with httpx.Client() as client:
                while time.monotonic() - started < wait:
                    text = client.get(exp.url + "/metrics", timeout=wait).text
                    if up in text:
                        break
                    time.sleep(0.5)
                else:
                    return result
                result.refresh_seconds = time.monotonic() - started
                for _ in range(scrapes):
                    result.scrapes.append(_scrape(client, exp.url, header, exp.pid))
            result.rss_peak_mib = max(s.rss_mib for s in result.scrapes)
        finally:
            result.exit_code = exp.stop()
    return result
