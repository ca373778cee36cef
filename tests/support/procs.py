"""Run the real exporter as a process on loopback; the configs and parsing the tests share."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from exporter.simulator import (
    GOLDEN_PRIVATE_KEY,
    GOLDEN_PROJECT,
    GOLDEN_PUBLIC_KEY,
)
from tests.support.process import ExporterProcess, child_env

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def golden_account(**overrides: Any) -> dict[str, Any]:
    """Return the config entry for the golden fleet's account."""
    return {
        "name": "golden",
        "public_key": GOLDEN_PUBLIC_KEY,
        "private_key": GOLDEN_PRIVATE_KEY,
        "project_id": GOLDEN_PROJECT,
        "regions": ["cn-bj2", "cn-sh2", "hk"],
        **overrides,
    }


def config_for(base_url: str, accounts: list[dict[str, Any]], **sections: Any) -> dict[str, Any]:
    """Return a config mapping pointing at ``base_url``.

    Every target is listed at every scrape (``collect.empty_interval_seconds`` 0: an empty
    one too) unless ``collect`` says otherwise: the tests change the fleet between scrapes.
    """
    ucloud = {
        "base_url": base_url,
        "timeout_seconds": 2,
        "page_size": 2,
        "retries": 1,
        **sections.pop("ucloud", {}),
    }
    collect = {"empty_interval_seconds": 0, **sections.pop("collect", {})}
    return {"ucloud": ucloud, "collect": collect, "accounts": accounts, **sections}


class Exporter(ExporterProcess):
    """The exporter as a real process, logging at debug level, for integration tests."""

    def __init__(
        self,
        workdir: Path,
        config: dict[str, Any] | None,
        *args: str,
        env: dict[str, str] | None = None,
    ) -> None:
        super().__init__(workdir, config, *args, log_level="debug", env=env)

    def get(self, path: str = "/metrics", **kwargs: Any) -> httpx.Response:
        """GET ``path`` from the exporter."""
        return httpx.get(self.url + path, timeout=kwargs.pop("timeout", 30), **kwargs)


def run_cli(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the CLI to completion and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "exporter", *args],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=cwd,
        env=child_env(**(env or {})),
        check=False,
    )


def samples(text: str) -> Samples:
    """Parse an exposition into {(name, labels): value}."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[s.name, frozenset(s.labels.items())] = s.value
    return out


def value(parsed: Samples, name: str, **labels: str) -> Any:
    """Return one sample's value (a float) from ``samples()``'s result, None when absent.

    Without ``project``, the sample of ``labels`` plus whichever project label it has: the
    accounts of these tests have one project each (asserted).
    """
    found = parsed.get((name, frozenset(labels.items())))
    if found is not None or "project" in labels:
        return found
    wanted = set(labels.items())
    matches = [
        v
        for (n, have), v in parsed.items()
        if n == name and wanted <= have and {k for k, _ in have - wanted} == {"project"}
    ]
    assert len(matches) <= 1, f"{name}{labels}: {len(matches)} projects, name one"
    return matches[0] if matches else None


def scrape_until(exp: Exporter, name: str, *, timeout: float = 15.0) -> Samples:
    """Scrape ``exp`` until a series ``name`` is present (e.g. after a background refresh);
    return that scrape, or the last one when ``timeout`` s passed."""
    end = time.monotonic() + timeout
    while True:
        m = samples(exp.get().text)
        if any(key == name for key, _ in m) or time.monotonic() > end:
            return m
        time.sleep(0.2)


def wait_until(predicate: Callable[[], object], timeout: float = 10.0) -> bool:
    """Poll ``predicate`` (an exporter's answer, which has no event to wait on) every 0.05 s
    until it holds; return whether it did within ``timeout`` s."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return False
