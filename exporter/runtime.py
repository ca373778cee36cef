"""The running engine and configuration reloads (SIGHUP, ``POST /-/reload``)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator

from prometheus_client.metrics_core import Metric

from exporter import metrics
from exporter.config import Config, ConfigError
from exporter.engine import Engine
from exporter.loops import LOOPS
from exporter.stats import Stats
from exporter.ucloud import TRANSPORTS

log = logging.getLogger(__name__)


class Runtime:
    """Hold the one Engine; a reload that brings a valid config reconfigures it in place.

    Reloads are coalesced: callers arriving while one runs share the next one, which reads
    the file after they all asked, instead of queueing one each.
    """

    def __init__(
        self,
        load: Callable[[], Config],
        *,
        initial: Config | None = None,
        loop: str = LOOPS[0],
        http: str = TRANSPORTS[0],
    ) -> None:
        """``loop`` and ``http`` are passed to the Engine (see ``Engine``)."""
        self._load = load
        self._running = threading.Lock()  # one reload at a time
        self._counting = threading.Lock()  # guards the two counters below
        self._asked = 0  # reload requests so far
        self._answered = 0  # requests the last finished reload answered (it read after them)
        self._answer = True
        self.stats = Stats()
        config = initial or load()
        self.stats.forget_unless(config)
        self._engine = Engine(config, stats=self.stats, loop=loop, http=http)
        self._reload_ok = True
        self._reload_time = time.time()

    @property
    def engine(self) -> Engine:
        """Return the engine (the same object across reloads)."""
        return self._engine

    def reload(self) -> bool:
        """Re-read the configuration; keep the old one if the new one is invalid.

        Return True when the configuration in force is the file's (valid), False when it was
        rejected. A caller that finds a reload running waits for it and then shares the next.
        """
        with self._counting:
            self._asked += 1
            mine = self._asked
        with self._running:
            with self._counting:
                if self._answered >= mine:  # a reload that read the file after we asked ended
                    return self._answer
                covers = self._asked
            answer = self._reload()
            with self._counting:
                self._answered, self._answer = covers, answer
            return answer

    def _reload(self) -> bool:
        try:
            config = self._load()
        except ConfigError as exc:
            self._reload_ok = False
            for problem in exc.problems:
                log.error("reload rejected, keeping the running config: %s", problem)
            return False
        if config == self._engine.config:
            log.info("configuration reloaded (unchanged)")
        else:
            self.stats.forget_unless(config)
            self._engine.reconfigure(config)
            log.info("configuration reloaded")
        self._reload_ok, self._reload_time = True, time.time()
        return True

    def close(self) -> None:
        """Stop the engine."""
        self._engine.close(wait=5)

    def families(self) -> Iterator[Metric]:
        """Yield the reload gauges."""
        ok, when = metrics.RELOAD_OK.new(), metrics.RELOAD_TIME.new()
        ok.add_metric((), 1 if self._reload_ok else 0)
        when.add_metric((), self._reload_time)
        yield from (ok, when)
        yield from self._engine.keys.families()
