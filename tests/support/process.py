"""The exporter as a real process on loopback, and what /proc says about it."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import yaml

ROOT = Path(__file__).resolve().parents[2]
_PORT = re.compile(r'(?:msg=listening .*port=|"msg": "listening".*"port": )(\d+)')


@dataclass(frozen=True)
class ProcStats:
    """Resident memory, open file descriptors and threads of one process."""

    rss_kib: int
    fds: int
    threads: int


def child_env(**extra: str) -> dict[str, str]:
    """Return the environment of a child Python process that imports this tree first."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, **extra}


def proc_stats(pid: int) -> ProcStats:
    """Read RSS and thread count from /proc/<pid>/status and count /proc/<pid>/fd."""
    fields = dict(
        line.split(":", 1)
        for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if ":" in line
    )
    return ProcStats(
        rss_kib=int(fields["VmRSS"].split()[0]),
        fds=len(os.listdir(f"/proc/{pid}/fd")),
        threads=int(fields["Threads"]),
    )


class ExporterProcess:
    """Run ``python -m exporter`` on 127.0.0.1 with a port of its choosing.

    The one way the tests, the load test and the benchmarks start the real exporter.
    ``config`` is written to ``workdir/config.yaml`` (None: no ``--config.file``, e.g. --demo).
    """

    def __init__(
        self,
        workdir: Path,
        config: dict[str, Any] | None,
        *args: str,
        log_level: str = "info",
        start_timeout: float = 20.0,
        env: dict[str, str] | None = None,
    ) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        argv = [
            sys.executable,
            "-m",
            "exporter",
            "--web.listen-address",
            "127.0.0.1:0",
            "--log.level",
            log_level,
            *args,
        ]
        if config is not None:
            path = workdir / "config.yaml"
            path.write_text(yaml.safe_dump(config, allow_unicode=True))
            argv += ["--config.file", str(path)]
        self.log_path = workdir / f"exporter-{time.monotonic_ns()}.log"
        self._log = self.log_path.open("wb")
        self.spawned = time.monotonic()
        self.proc = subprocess.Popen(
            argv,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            env=child_env(**(env or {})),
        )
        self.port = self._wait_port(start_timeout)
        self.listening = time.monotonic()
        self.url = f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        """Return the process id."""
        return self.proc.pid

    def _wait_port(self, timeout: float) -> int:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            match = _PORT.search(self.logs())
            if match:
                return int(match.group(1))
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        code = self.stop()
        raise RuntimeError(f"exporter did not start (exit {code}):\n{self.logs()}")

    def logs(self) -> str:
        """Return everything the process logged so far."""
        return self.log_path.read_text(errors="replace")

    def stop(self) -> int:
        """SIGTERM, wait (kill after 10 s), return the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode

    def __enter__(self) -> Self:
        """Return self (the process is already running)."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop the process."""
        self.stop()


@contextlib.contextmanager
def simulator_cli(*args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Run ``python -m exporter.simulator ARGS --listen 127.0.0.1:0``; yield it and the URL
    it prints. It must exit 0 on SIGTERM at the end; it is killed after 10 s whatever happens
    (a stuck child never hangs the suite)."""
    command = [sys.executable, "-m", "exporter.simulator", *args, "--listen", "127.0.0.1:0"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=child_env(), cwd=ROOT)
    watchdog = threading.Timer(10, proc.kill)
    watchdog.start()
    try:
        assert proc.stdout is not None
        yield proc, proc.stdout.readline().strip().removeprefix("listening on ")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
