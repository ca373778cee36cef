"""Run the real exporter as a process on loopback, for integration tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from loadtest.process import ExporterProcess

ROOT = Path(__file__).resolve().parent.parent


def config_for(base_url: str, accounts: list[dict[str, Any]], **sections: Any) -> dict[str, Any]:
    """Return a config mapping pointing at ``base_url``."""
    ucloud = {"base_url": base_url, "timeout_seconds": 2, "page_size": 2, "retries": 1,
              **sections.pop("ucloud", {})}
    return {"ucloud": ucloud, "accounts": accounts, **sections}


class Exporter(ExporterProcess):
    """The exporter as a real process, logging at debug level, for integration tests."""

    def __init__(self, workdir: Path, config: dict[str, Any] | None, *args: str,
                 env: dict[str, str] | None = None) -> None:
        super().__init__(workdir, config, *args, log_level="debug", env=env)

    def get(self, path: str = "/metrics", **kwargs: Any) -> httpx.Response:
        """GET ``path`` from the exporter."""
        return httpx.get(self.url + path, timeout=kwargs.pop("timeout", 30), **kwargs)


def run_cli(*args: str, cwd: Path | None = None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the CLI to completion and capture its output."""
    return subprocess.run([sys.executable, "-m", "exporter", *args], capture_output=True,
                          text=True, timeout=30, cwd=cwd, env={**os.environ, **(env or {})},
                          check=False)
