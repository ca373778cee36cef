"""Refresh the UHub registries in the background; scrapes read them from memory.

Each account with ``uhub: true`` is listed when the engine starts and then every
``uhub.refresh_seconds``, on the engine's event loop, never on the scrape path. A failed
refresh sets the account's ``ucloud_uhub_up`` to 0 and keeps serving the last registry that
was listed successfully until it is older than ``uhub.max_data_age_seconds`` (its age shows in
``ucloud_uhub_last_success_timestamp_seconds``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace

from exporter.config import Account, Config
from exporter.results import InternalError
from exporter.stats import UHUB_REGION, Stats
from exporter.ucloud import Registry, UCloudClient, UCloudError, list_registry

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class UHubState:
    """What the scrape shows of one account's registry."""

    account: str
    up: bool | None = None  # None until the first refresh ends
    reason: str | None = None  # why the last refresh failed
    duration: float | None = None  # of the last refresh
    last_success: float | None = None  # wall clock
    registry: Registry | None = None  # the last good one, while young enough


class UHubBook:
    """Own the refresh tasks of the accounts with ``uhub: true`` and their last states.

    Each account's refresh runs ``uhub.refresh_seconds`` after its last one ended (at once when
    it has none). A reload reconfigures the book in place (``reconfigure``): an unchanged
    account keeps its state and its schedule.
    """

    def __init__(
        self,
        client: UCloudClient,
        config: Config,
        stats: Stats,
        *,
        previous: Iterable[UHubState] = (),
    ) -> None:
        """``previous``: states of a replaced book, kept for accounts still listed."""
        self._client, self._config, self._stats = client, config, stats
        self._accounts = {a.name: a for a in config.accounts if a.uhub}
        kept = {s.account: s for s in previous}
        self._states = {name: kept.get(name, UHubState(name)) for name in self._accounts}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._ended: dict[str, float] = {}  # monotonic end of each account's last refresh
        self._changed = asyncio.Event()  # set (and replaced) when a reload changes the schedule

    async def start(self) -> None:
        """Start one refresh loop per account (on the engine's loop)."""
        for name in self._accounts:
            if name not in self._tasks:
                self._tasks[name] = asyncio.ensure_future(self._every(name))

    async def stop(self) -> None:
        """Cancel the refresh loops and wait for them to end."""
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def reconfigure(self, client: UCloudClient, config: Config) -> None:
        """Take a reloaded ``config`` in place (on the engine's loop).

        An account whose keys or project are unchanged keeps its state and schedule; changed
        ``uhub`` listing settings (repo types, tag counts) make it refresh at once, still
        showing its registry until then. A changed account starts afresh, a removed one stops.
        A refresh in flight is cancelled when the account changes, the listing settings change,
        or a new ``client`` comes (a changed ``ucloud`` section); it runs again at once.
        """
        accounts = {a.name: a for a in config.accounts if a.uhub}
        relist = _listing(self._config) != _listing(config)
        stopping = []
        for name in list(self._states):
            new, old = accounts.get(name), self._accounts.get(name)
            fresh = new is None or old is None or _identity(new) != _identity(old)
            task = self._tasks.get(name)
            if task is not None and (fresh or relist or client is not self._client):
                del self._tasks[name]
                task.cancel()
                stopping.append(task)
            if fresh:
                self._ended.pop(name, None)
                del self._states[name]
            elif relist:
                self._ended.pop(name, None)
        self._client, self._config, self._accounts = client, config, accounts
        for name in accounts:
            self._states.setdefault(name, UHubState(name))
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()  # sleeping loops re-read their due time
        await asyncio.gather(*stopping, return_exceptions=True)
        await self.start()

    def states(self) -> list[UHubState]:
        """Return every account's state now, without calling the API (safe from any thread).

        A registry older than ``uhub.max_data_age_seconds`` is no longer served.
        """
        oldest = time.time() - self._config.uhub.max_data_age_seconds
        return [
            s if s.last_success is None or s.last_success >= oldest else replace(s, registry=None)
            for s in list(self._states.values())
        ]

    async def _every(self, name: str) -> None:
        while True:
            await self._due(name)
            await self.refresh(self._accounts[name])
            self._ended[name] = time.monotonic()

    async def _due(self, name: str) -> None:
        """Return when ``name``'s next refresh is due, re-judged when a reload changes it."""
        while (ended := self._ended.get(name)) is not None:
            left = ended + self._config.uhub.refresh_seconds - time.monotonic()
            if left <= 0:
                return
            changed = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), left)

    async def refresh(self, account: Account) -> UHubState:
        """List ``account``'s registry once and record the outcome."""
        started, registry = time.monotonic(), None
        reason: str | None = None
        deadline = started + self._config.collect.listing_timeout_seconds
        try:
            registry = await list_registry(
                self._client,
                account,
                self._config.uhub,
                deadline=deadline,
                observe=self._stats.observer(account.name, UHUB_REGION),
            )
        except UCloudError as exc:
            reason = exc.reason
            log.warning(
                "UHub refresh failed: %s",
                exc,
                extra={"account": account.name, "action": exc.action, **exc.log_fields()},
            )
        except Exception as exc:  # a bug must cost one account's registry, not the loop
            reason = InternalError.reason
            log.exception("UHub refresh crashed: %r", exc, extra={"account": account.name})
        else:
            if registry.inconsistencies:
                log.warning(
                    "UHub listing was inconsistent: %s",
                    ", ".join(sorted(registry.inconsistencies)),
                    extra={"account": account.name},
                )
        old = self._states[account.name]
        if registry is not None:
            self._stats.record_oddities(account.name, UHUB_REGION, registry)
            was = old.registry is not None and bool(old.registry.truncated)
            for kind in sorted(registry.truncated):
                self._stats.record_truncation(account.name, kind)
            if registry.truncated and not was:  # once, not on every refresh
                why = ",".join(sorted(registry.truncated))
                log.warning(
                    "UHub registry too large (%s): only its first %d images are kept "
                    "(uhub.max_images %d); logged again only after it fits",
                    why,
                    len(registry.images),
                    self._config.uhub.max_images,
                    extra={"account": account.name, "reason": why},
                )
            elif not registry.truncated and was:
                log.info("UHub registry fits again: kept whole", extra={"account": account.name})
        state = UHubState(
            account.name,
            up=registry is not None,
            reason=reason,
            duration=time.monotonic() - started,
            last_success=time.time() if registry is not None else old.last_success,
            registry=registry if registry is not None else old.registry,
        )
        self._states[account.name] = state
        return state


def _identity(account: Account) -> tuple[object, ...]:
    """What makes an account's registry the same one across a reload."""
    return (account.public_key, account.private_key, account.project_id)


def _listing(config: Config) -> tuple[object, ...]:
    """The settings that shape a listed registry: the ``uhub`` section but the interval and
    the age (they only schedule and serve it), and the gateway."""
    shape = replace(config.uhub, refresh_seconds=0.0, max_data_age_seconds=0.0)
    return (config.ucloud.base_url, shape)
