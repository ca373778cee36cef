"""Region discovery for accounts configured with ``regions: auto`` (UAccount GetRegion)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Collection, Iterator
from dataclasses import dataclass

from prometheus_client.metrics_core import Metric

from exporter import metrics
from exporter.config import Account
from exporter.ucloud import Observer, UCloudClient, UCloudError, get_regions

log = logging.getLogger(__name__)


@dataclass
class _Known:
    regions: tuple[str, ...] = ()
    ok: bool = False
    last_success: float | None = None  # wall clock
    refreshed: float | None = None  # monotonic time of the last attempt
    task: asyncio.Task[tuple[str, ...]] | None = None


class RegionBook:
    """Remember each account's regions; refresh discovered ones every ``refresh_seconds``."""

    def __init__(self, client: UCloudClient, *, refresh_seconds: float) -> None:
        self._client = client
        self._refresh = refresh_seconds
        self._known: dict[str, _Known] = {}

    def reconfigure(
        self, client: UCloudClient, *, refresh_seconds: float, keep: Collection[str]
    ) -> list[asyncio.Task[tuple[str, ...]]]:
        """Keep what is known of the accounts named in ``keep`` (discovery unchanged by a
        reload), forget the others; call the API through ``client`` from now on.

        Run on the engine's loop. Return the refreshes cancelled (forgotten accounts', and every
        one in flight when the client changes: those are due again at once); await them.
        """
        cancelled = []
        for name, state in list(self._known.items()):
            running = state.task is not None and not state.task.done()
            if name not in keep:
                del self._known[name]
            elif client is not self._client and running:
                state.refreshed = None  # the cancelled refresh is due again
            else:
                continue
            if running and state.task is not None:
                state.task.cancel()
                cancelled.append(state.task)
        self._client, self._refresh = client, refresh_seconds
        return cancelled

    def known(self, account: Account) -> tuple[str, ...]:
        """Return the regions known now, without calling the API."""
        if not account.discover_regions:
            return account.regions
        state = self._known.get(account.name)
        return state.regions if state else ()

    async def regions(
        self, account: Account, *, deadline: float, observe: Observer
    ) -> tuple[str, ...]:
        """Return the account's regions, refreshing discovered ones when due."""
        if not account.discover_regions:
            return account.regions
        state = self._known.setdefault(account.name, _Known())
        due = state.refreshed is None or time.monotonic() - state.refreshed >= self._refresh
        if due and (state.task is None or state.task.done()):
            state.task = asyncio.ensure_future(self._refresh_one(account, state, deadline, observe))
        if state.task is not None and not state.task.done():
            remaining = max(0.0, deadline - time.monotonic())
            await asyncio.wait([asyncio.shield(state.task)], timeout=remaining)
        return state.regions

    async def _refresh_one(
        self, account: Account, state: _Known, deadline: float, observe: Observer
    ) -> tuple[str, ...]:
        state.refreshed = time.monotonic()
        try:
            regions = await get_regions(self._client, account, deadline=deadline, observe=observe)
        except UCloudError as exc:
            state.ok = False
            log.warning(
                "region discovery failed, keeping %d known regions: %s",
                len(state.regions),
                exc,
                extra={"account": account.name, "action": "GetRegion", **exc.log_fields()},
            )
            return state.regions
        if regions != state.regions:
            log.info("discovered regions: %s", ", ".join(regions), extra={"account": account.name})
        state.regions, state.ok, state.last_success = regions, True, time.time()
        return regions

    def families(self) -> Iterator[Metric]:
        """Yield discovery success and last-success gauges for discovered accounts."""
        ok, last = metrics.DISCOVERY_OK.new(), metrics.DISCOVERY_TIME.new()
        regions = metrics.DISCOVERY_REGIONS.new()
        for name, state in sorted(self._known.items()):
            ok.add_metric((name,), 1 if state.ok else 0)
            regions.add_metric((name,), len(state.regions))
            if state.last_success is not None:
                last.add_metric((name,), state.last_success)
        yield from (ok, last, regions)
