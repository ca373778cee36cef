"""Shared fixtures: the simulator and exporter processes; the e2e marker's rule."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from exporter.simulator import Simulator, golden_fleet
from tests.support.e2e import (  # noqa: F401 (the e2e marker's rule)
    pytest_runtest_makereport,
    pytest_runtest_setup,
)
from tests.support.gateway import client, sim  # noqa: F401 (the simulator tests' fixtures)
from tests.support.pki import make_pki
from tests.support.procs import Exporter


@pytest.fixture
def simulator() -> Iterator[Simulator]:
    """Serve the golden fleet on a loopback port."""
    with Simulator(golden_fleet()) as served:
        yield served


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA, a server cert for 127.0.0.1, a client cert from the CA and one from another CA."""
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def start_exporter(tmp_path: Path) -> Iterator[Callable[..., Exporter]]:
    """Start exporter processes; each is stopped (and must exit 0) at teardown."""
    started: list[Exporter] = []

    def start(config: dict[str, Any] | None, *args: str, **kw: Any) -> Exporter:
        exp = Exporter(tmp_path, config, *args, **kw)
        started.append(exp)
        return exp

    yield start
    codes = [(exp.stop(), exp) for exp in started]
    for code, exp in codes:
        assert code == 0, f"exporter exited {code}:\n{exp.logs()}"
