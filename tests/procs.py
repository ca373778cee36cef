"""Run the real exporter as a process on loopback, for integration tests."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent


def config_for(base_url: str, accounts: list[dict[str, Any]], **sections: Any) -> dict[str, Any]:
    """Return a config mapping pointing at ``base_url``."""
    ucloud = {"base_url": base_url, "timeout_seconds": 2, "page_size": 2, "retries": 1,
              **sections.pop("ucloud", {})}
    return {"ucloud": ucloud, "accounts": accounts, **sections}


class Exporter:
    """The exporter as a real process; port read from its own log line."""

    def __init__(self, workdir: Path, config: dict[str, Any] | None, *args: str,
                 env: dict[str, str] | None = None) -> None:
        self.workdir = workdir
        self.log_path = workdir / f"exporter-{time.monotonic_ns()}.log"
        argv = [sys.executable, "-m", "exporter", "--web.listen-address", "127.0.0.1:0",
                "--log.level", "debug", *args]
        if config is not None:
            path = workdir / "config.yaml"
            path.write_text(yaml.safe_dump(config, allow_unicode=True))
            argv += ["--config.file", str(path)]
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT,
                                     cwd=workdir, env={**os.environ, **(env or {})})
        self.port = self._wait_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def _wait_port(self, timeout: float = 15) -> int:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            match = re.search(r'(?:msg=listening .*port=|"msg": "listening".*"port": )(\d+)',
                              self.logs())
            if match:
                return int(match.group(1))
            if self.proc.poll() is not None:
                raise RuntimeError(f"exporter exited {self.proc.returncode}:\n{self.logs()}")
            time.sleep(0.05)
        self.proc.kill()
        raise RuntimeError(f"exporter did not start within {timeout}s:\n{self.logs()}")

    def logs(self) -> str:
        """Return everything the process logged so far."""
        return self.log_path.read_text(errors="replace")

    def get(self, path: str = "/metrics", **kwargs: Any) -> httpx.Response:
        """GET ``path`` from the exporter."""
        return httpx.get(self.url + path, timeout=kwargs.pop("timeout", 30), **kwargs)

    def stop(self) -> int:
        """SIGTERM, wait, return the exit code (kill if it hangs)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode


def run_cli(*args: str, cwd: Path | None = None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the CLI to completion and capture its output."""
    return subprocess.run([sys.executable, "-m", "exporter", *args], capture_output=True,
                          text=True, timeout=30, cwd=cwd, env={**os.environ, **(env or {})},
                          check=False)
