"""Run real binaries on loopback, for tests: the server base, polling, ports, binaries.

tests/support/prometheus.py builds Prometheus and Alertmanager on it.

Plain functions and context managers, no pytest fixtures: fixtures wrap them
where they are needed.  Every network call goes to 127.0.0.1 and every wait is
bounded in time.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn, Self, TypedDict, TypeVar

import httpx
import pytest

LOOPBACK = "127.0.0.1"
PROMETHEUS_BINARY = "/usr/bin/prometheus"
ALERTMANAGER_BINARY = "/usr/bin/prometheus-alertmanager"

R = TypeVar("R")
Sample = dict[str, Any]
"""One element of an instant-query result: {"metric": {...}, "value": [ts, "v"]}."""


def _missing(message: str) -> NoReturn:
    # In CI a missing binary is a broken machine, not a reason to skip.
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def require_binary(name: str) -> str:
    """Return the path of executable ``name`` (a name on PATH or a path).

    If it is missing, fail the test when the environment variable ``CI`` is
    ``true`` and skip it otherwise.
    """
    if os.sep in name:
        if os.path.isfile(name) and os.access(name, os.X_OK):
            return name
        found = None
    else:
        found = shutil.which(name)
    if found is None:
        _missing(f"required binary {name!r} not found (install Debian's prometheus packages)")
    return found


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return f"<cannot read {path}: {exc}>"
    return "\n".join(text.splitlines()[-lines:])


def poll(
    read: Callable[[], R],
    predicate: Callable[[R], bool],
    *,
    timeout: float,
    interval: float,
    what: str,
) -> R:
    """Call ``read`` until ``predicate`` holds on its result; ``TimeoutError`` after ``timeout``.

    Errors from ``read`` (a server not answering yet) count as "not yet".
    """
    deadline = time.monotonic() + timeout
    last: object = "never read"
    while True:
        try:
            result = read()
            if predicate(result):
                return result
            last = result
        except (RuntimeError, httpx.HTTPError) as exc:
            last = exc
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what} did not satisfy the predicate in {timeout}s: {last}")
        time.sleep(interval)


class ServerOptions(TypedDict, total=False):
    """Keyword options every server takes (see ``LoopbackServer``)."""

    binary: str | None
    workdir: Path | None
    extra_args: Sequence[str]
    ready_timeout: float
    request_timeout: float


class LoopbackServer:
    """A binary listening on 127.0.0.1:<free port>, logging to ``workdir``."""

    name = "server"
    default_binary = ""
    # Failures that mean "someone took our port": try again with another one.
    _PORT_TAKEN = ("address already in use", "bind: address")
    _START_ATTEMPTS = 3

    def __init__(
        self,
        config_yaml: str,
        *,
        binary: str | None = None,
        workdir: Path | None = None,
        extra_args: Sequence[str] = (),
        ready_timeout: float = 30.0,
        request_timeout: float = 10.0,
    ) -> None:
        self.config_yaml = config_yaml
        self.binary = require_binary(binary or self.default_binary)
        self._own_workdir = workdir is None
        self.workdir = (
            Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix=f"{self.name}-"))
        )
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.workdir / f"{self.name}.log"
        self.extra_args = list(extra_args)
        self.ready_timeout = ready_timeout
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._client = httpx.Client(timeout=request_timeout, trust_env=False)
        self.config_path = self.workdir / f"{self.name}.yml"
        self.data_path = self.workdir / f"{self.name}-data"

    def _prepare(self) -> None:
        """Write the configuration and make the data directory in ``self.workdir``."""
        self.config_path.write_text(self.config_yaml, encoding="utf-8")
        self.data_path.mkdir(exist_ok=True)

    # -- to be provided by subclasses ------------------------------------

    def _args(self, port: int) -> list[str]:
        raise NotImplementedError

    # -- lifecycle ---------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self) -> None:
        self._prepare()
        for attempt in range(1, self._START_ATTEMPTS + 1):
            self.port = free_port()
            with self.log_path.open("ab") as log:
                log.write(f"--- start attempt {attempt} on port {self.port}\n".encode())
                log.flush()
                self.process = subprocess.Popen(
                    [self.binary, *self._args(self.port), *self.extra_args],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.workdir,
                )
            try:
                self._wait_ready()
                return
            except PortTaken:
                self._terminate()
        raise RuntimeError(
            f"{self.name} could not get a free port in {self._START_ATTEMPTS} attempts; "
            f"log {self.log_path}:\n{_tail(self.log_path)}"
        )

    def _wait_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + self.ready_timeout
        last_error = "no answer yet"
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                log = _tail(self.log_path)
                if any(marker in log.lower() for marker in self._PORT_TAKEN):
                    raise PortTaken
                raise RuntimeError(
                    f"{self.name} exited with status {code} before it was ready; "
                    f"log {self.log_path}:\n{log}"
                )
            try:
                response = self._client.get(f"{self.url}/-/ready", timeout=2.0)
                if response.status_code == 200:
                    return
                last_error = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                last_error = f"{type(exc).__name__}: {exc}"
            time.sleep(0.2)
        self._terminate()
        raise RuntimeError(
            f"{self.name} not ready on {self.url} within {self.ready_timeout:.0f}s "
            f"({last_error}); log {self.log_path}:\n{_tail(self.log_path)}"
        )

    def _terminate(self, grace: float = 10.0) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=grace)

    def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL after 10 s)."""
        self._terminate()
        self._client.close()

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
        # A workdir we made ourselves goes away after a clean run; after a
        # failure it stays, with the log in it.
        if self._own_workdir and exc_type is None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    # -- HTTP helpers ------------------------------------------------------

    def _get_json(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        response = self._client.get(f"{self.url}{path}", params=params)
        try:
            body = response.json()
        except ValueError as exc:
            raise RuntimeError(
                f"{self.name} {path}: HTTP {response.status_code}, not JSON: {response.text[:500]}"
            ) from exc
        if response.status_code != 200:
            raise RuntimeError(f"{self.name} {path}: HTTP {response.status_code}: {body}")
        return body


class PortTaken(Exception):
    pass
