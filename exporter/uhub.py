"""Refresh the UHub registries in the background; scrapes read them from memory.

Each project of each account with ``uhub: true`` has a registry (UHub's API takes
``ProjectId``). An account's registries are listed when the engine starts and then every
``uhub.refresh_seconds``, one project after another, on the engine's event loop, never on the
scrape path. A failed refresh sets the project's ``ucloud_uhub_up`` to 0 and keeps serving the
last registry that was listed successfully until it is older than
``uhub.max_data_age_seconds`` (its age shows in ``ucloud_uhub_last_success_timestamp_seconds``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace

from exporter.config import Account, Config
from exporter.results import DEFAULT_PROJECT, InternalError
from exporter.stats import Stats
from exporter.ucloud import Registry, UCloudClient, UCloudError, list_registry

log = logging.getLogger(__name__)
#: The projects of an account (``project`` label values), by a deadline (monotonic).
Projects = Callable[[Account, float], Awaitable[tuple[str, ...]]]


@dataclass(frozen=True, slots=True)
class UHubState:
    """What the scrape shows of one project's registry."""

    account: str
    project: str
    up: bool | None = None  # None until the first refresh ends
    reason: str | None = None  # why the last refresh failed
    duration: float | None = None  # of the last refresh
    last_success: float | None = None  # wall clock
    registry: Registry | None = None  # the last good one, while young enough


class UHubBook:
    """Own the refresh tasks of the accounts with ``uhub: true`` and their projects' states.

    Each account's refresh (of each of its projects, as ``projects`` gives them) runs
    ``uhub.refresh_seconds`` after its last one ended (at once when it has none). A reload
    reconfigures the book in place (``reconfigure``): an unchanged account keeps its states and
    its schedule.
    """

    def __init__(
        self,
        client: UCloudClient,
        config: Config,
        stats: Stats,
        projects: Projects,
        *,
        previous: Iterable[UHubState] = (),
    ) -> None:
        """``previous``: states of a replaced book, kept for accounts still listed."""
        self._client, self._config, self._stats = client, config, stats
        self._projects = projects
        self._accounts = {a.name: a for a in config.accounts if a.uhub}
        self._states = {(s.account, s.project): s for s in previous if s.account in self._accounts}
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
        for name in {*self._accounts, *(key[0] for key in self._states)}:
            new, old = accounts.get(name), self._accounts.get(name)
            fresh = new is None or old is None or _identity(new) != _identity(old)
            task = self._tasks.get(name)
            if task is not None and (fresh or relist or client is not self._client):
                del self._tasks[name]
                task.cancel()
                stopping.append(task)
            if fresh:
                self._ended.pop(name, None)
                for key in [k for k in self._states if k[0] == name]:
                    del self._states[key]
            elif relist:
                self._ended.pop(name, None)
        self._client, self._config, self._accounts = client, config, accounts
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()  # sleeping loops re-read their due time
        await asyncio.gather(*stopping, return_exceptions=True)
        await self.start()

    def states(self) -> list[UHubState]:
        """Return every project's state now, without calling the API (safe from any thread).

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
            await self.refresh_all(self._accounts[name])
            self._ended[name] = time.monotonic()

    async def refresh_all(self, account: Account) -> list[UHubState]:
        """Refresh each of ``account``'s projects' registry, one after another; forget the
        projects it no longer has (while its projects are unknown, keep every state)."""
        deadline = time.monotonic() + self._config.collect.listing_timeout_seconds
        projects = await self._projects(account, deadline)
        if projects:
            for key in [k for k in self._states if k[0] == account.name and k[1] not in projects]:
                del self._states[key]
        return [await self.refresh(account, project) for project in projects]

    async def _due(self, name: str) -> None:
        """Return when ``name``'s next refresh is due, re-judged when a reload changes it."""
        while (ended := self._ended.get(name)) is not None:
            left = ended + self._config.uhub.refresh_seconds - time.monotonic()
            if left <= 0:
                return
            changed = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), left)

    async def refresh(self, account: Account, project: str) -> UHubState:
        """List the registry of ``account``'s ``project`` once and record the outcome."""
        started, registry = time.monotonic(), None
        key = (account.name, project)
        where = {"account": account.name, "project": project}
        reason: str | None = None
        deadline = started + self._config.collect.listing_timeout_seconds
        try:
            registry = await list_registry(
                self._client,
                account,
                self._config.uhub,
                deadline=deadline,
                observe=self._stats.observer(account.name),
                project="" if project == DEFAULT_PROJECT else project,
            )
        except UCloudError as exc:
            reason = exc.reason
            log.warning(
                "UHub refresh failed: %s",
                exc,
                extra={**where, "action": exc.action, **exc.log_fields()},
            )
        except Exception as exc:  # a bug must cost one account's registry, not the loop
            reason = InternalError.reason
            log.exception("UHub refresh crashed: %r", exc, extra=where)
        else:
            if registry.inconsistencies:
                log.warning(
                    "UHub listing was inconsistent: %s",
                    ", ".join(sorted(registry.inconsistencies)),
                    extra=where,
                )
        old = self._states.get(key) or UHubState(*key)
        if registry is not None:
            self._stats.record_oddities(key, registry)
            was = old.registry is not None and bool(old.registry.truncated)
            for kind in sorted(registry.truncated):
                self._stats.record_truncation(*key, kind)
            if registry.truncated and not was:  # once, not on every refresh
                why = ",".join(sorted(registry.truncated))
                log.warning(
                    "UHub registry too large (%s): only its first %d images are kept "
                    "(uhub.max_images %d); logged again only after it fits",
                    why,
                    len(registry.images),
                    self._config.uhub.max_images,
                    extra={**where, "reason": why},
                )
            elif not registry.truncated and was:
                log.info("UHub registry fits again: kept whole", extra=where)
        state = UHubState(
            *key,
            up=registry is not None,
            reason=reason,
            duration=time.monotonic() - started,
            last_success=time.time() if registry is not None else old.last_success,
            registry=registry if registry is not None else old.registry,
        )
        if account.name in self._accounts:  # not removed by a reload meanwhile
            self._states[key] = state
        return state


def _identity(account: Account) -> tuple[object, ...]:
    """What makes an account's registries the same ones across a reload."""
    return (
        account.public_key,
        account.private_key,
        account.projects,
        account.discover_projects,
    )


def _listing(config: Config) -> tuple[object, ...]:
    """The settings that shape a listed registry: the ``uhub`` section but the interval and
    the age (they only schedule and serve it), and the gateway."""
    shape = replace(config.uhub, refresh_seconds=0.0, max_data_age_seconds=0.0)
    return (config.ucloud.base_url, shape)
