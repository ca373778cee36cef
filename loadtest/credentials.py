"""Temporary keys expiring under continuous scrapes: no scrape may fail (issue 21).

The simulator's metadata service issues keys of ``lifetime`` seconds to one instance-role
account, and AssumeRole (on top of the instance role) to a second one; the exporter refreshes
each when 20 % of its lifetime is left. Scrapes every ``every`` seconds for ``seconds`` count
every answer that is not 200 with ``up`` 1 for both targets as failed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from exporter import metrics
from exporter.simulator import GOLDEN_PROJECT, GOLDEN_PUBLIC_KEY, STS, Simulator, golden_fleet
from tests.support.process import ExporterProcess

ROLE, ROLE_URN = "loadtest-role", "ucs:iam::1:role/loadtest"


@dataclass
class CredentialsResult:
    """What scrapes saw while the accounts' keys expired and were refreshed."""

    lifetime: float
    seconds: float
    every: float
    scrapes: int = 0
    failed: list[str] = field(default_factory=list)
    metadata_calls: int = 0
    assume_role_calls: int = 0
    exit_code: int = 0

    @property
    def lifetimes(self) -> float:
        """How many key lifetimes the run lasted."""
        return self.seconds / self.lifetime

    def problems(self) -> list[str]:
        """Return the broken promises: a failed scrape, or refreshes out of proportion."""
        out = [f"credentials: failed scrape: {f}" for f in self.failed[:5]]
        most = int(self.lifetimes / 0.8) + 3  # one per 80 % of a lifetime, and the first
        for what, n in (("metadata", self.metadata_calls), ("AssumeRole", self.assume_role_calls)):
            if not 1 <= n <= 2 * most:  # two accounts ask the metadata service
                out.append(f"credentials: {n} {what} calls for {self.lifetimes:.1f} lifetimes")
        if self.exit_code != 0:
            out.append(f"credentials: exporter exited {self.exit_code}")
        return out


def credentials_run(
    workdir: Path, *, lifetime: float = 30.0, seconds: float = 120.0, every: float = 0.5
) -> CredentialsResult:
    """Scrape every ``every`` s for ``seconds`` s while keys of ``lifetime`` s expire."""
    result = CredentialsResult(lifetime, seconds, every)
    fleet = golden_fleet()
    sts = STS(
        fleet,
        roles={ROLE: GOLDEN_PUBLIC_KEY},
        role_urns={ROLE_URN: GOLDEN_PUBLIC_KEY},
        lifetime=lifetime,
    )
    with Simulator(fleet, sts=sts) as sim:
        account = {"instance_role": ROLE, "project_id": GOLDEN_PROJECT, "regions": ["cn-bj2"]}
        config = {
            "ucloud": {"base_url": sim.url, "metadata_url": sim.url.rstrip("/"), "retries": 0},
            "accounts": [
                {"name": "instance", **account},
                {"name": "assumed", "assume_role": {"role_urn": ROLE_URN}, **account},
            ],
        }
        exp = ExporterProcess(workdir, config)
        up = f"{metrics.UP.name}{{"
        try:
            with httpx.Client() as client:
                ends = time.monotonic() + seconds
                while time.monotonic() < ends:
                    started = time.monotonic()
                    response = client.get(exp.url + "/metrics", timeout=30)
                    ups = [line for line in response.text.splitlines() if line.startswith(up)]
                    result.scrapes += 1
                    if (
                        response.status_code != 200
                        or len(ups) != 2
                        or any(not line.endswith(" 1.0") for line in ups)
                    ):
                        result.failed.append(f"HTTP {response.status_code}: {ups}")
                    time.sleep(max(0.0, every - (time.monotonic() - started)))
        finally:
            result.exit_code = exp.stop()
        result.metadata_calls = sts.calls["v2"] + sts.calls["v1"]
        result.assume_role_calls = sts.calls["AssumeRole"]
    return result
