"""The running engine and configuration reloads (SIGHUP, ``POST /-/reload``)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator

from prometheus_client.metrics_core import Metric

from exporter import metrics
from exporter.config import Config, ConfigError
from exporter.engine import Engine
from exporter.listings import LOOPS
from exporter.stats import Stats
from exporter.ucloud import TRANSPORTS
from exporter.uhub import UHubState

log = logging.getLogger(__name__)
# How long a replaced engine may keep serving scrapes that started before the reload.
RETIRE_GRACE_SECONDS = 120.0


def _retire(engine: Engine) -> None:
    """Close a replaced engine once the scrapes that already hold it are done."""
    time.sleep(1.0)  # let a request that fetched the engine just before the swap start using it
    engine.close(wait=RETIRE_GRACE_SECONDS)


class Runtime:
    """Hold the current Engine; swap it for a new one when a reload brings a valid config."""

    def __init__(
        self,
        load: Callable[[], Config],
        *,
        initial: Config | None = None,
        loop: str = LOOPS[0],
        http: str = TRANSPORTS[0],
    ) -> None:
        """``loop`` and ``http`` are passed to every Engine (see ``Engine``)."""
        self._load = load
        self._lock = threading.Lock()
        self.stats = Stats()
        self._loop, self._http = loop, http
        self._engine = self._new_engine(initial or load())
        self._reload_ok = True
        self._reload_time = time.time()

    def _new_engine(self, config: Config, uhub: Iterable[UHubState] = ()) -> Engine:
        return Engine(config, stats=self.stats, uhub=uhub, loop=self._loop, http=self._http)

    @property
    def engine(self) -> Engine:
        """Return the engine serving now."""
        return self._engine

    def reload(self) -> bool:
        """Re-read the configuration; keep the old one if the new one is invalid."""
        with self._lock:
            try:
                config = self._load()
            except ConfigError as exc:
                self._reload_ok = False
                for problem in exc.problems:
                    log.error("reload rejected, keeping the running config: %s", problem)
                return False
            self.stats.forget_unless(config)
            old = self._engine
            self._engine = self._new_engine(config, uhub=old.uhub.states())
            self._reload_ok, self._reload_time = True, time.time()
        log.info("configuration reloaded")
        threading.Thread(target=_retire, args=(old,), name="retire-engine", daemon=True).start()
        return True

    def close(self) -> None:
        """Stop the current engine."""
        self._engine.close(wait=5)

    def families(self) -> Iterator[Metric]:
        """Yield the reload gauges."""
        ok, when = metrics.RELOAD_OK.new(), metrics.RELOAD_TIME.new()
        ok.add_metric((), 1 if self._reload_ok else 0)
        when.add_metric((), self._reload_time)
        yield from (ok, when)
