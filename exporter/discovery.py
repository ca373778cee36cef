"""What an account has, discovered and cached: its regions (``regions: auto``, UAccount
GetRegion) and its projects (``project_id: auto``, or none set: UAccount GetProjectList)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Collection, Iterator
from dataclasses import dataclass

from prometheus_client.metrics_core import Metric

from exporter import metrics
from exporter.config import Account
from exporter.metrics import Family
from exporter.results import DEFAULT_PROJECT
from exporter.ucloud import (
    APIError,
    DecodeError,
    Observer,
    UCloudClient,
    UCloudError,
    get_projects,
    get_regions,
)

log = logging.getLogger(__name__)
#: After a failed discovery, the next attempt is due this soon (or at the refresh interval,
#: if shorter): an account whose first discovery failed has no targets until one succeeds.
RETRY_SECONDS = 30.0
#: How long a scrape waits for an account's default project to be resolved the first time
#: before listing it as ``DEFAULT_PROJECT`` (GetProjectList answers in well under a second).
RESOLVE_WAIT_SECONDS = 2.0


@dataclass
class _Known:
    values: tuple[str, ...] = ()
    ok: bool = False
    last_success: float | None = None  # wall clock
    refreshed: float | None = None  # monotonic time of the last attempt
    task: asyncio.Task[tuple[str, ...]] | None = None


class _Book:
    """Remember what each account has; refresh the discovered ones when due.

    A refresh runs once at a time per account, shared by every caller; a caller waits for it
    until its own deadline at most, and gets what is known then. A failed refresh keeps what
    was known and is due again after ``RETRY_SECONDS``.
    """

    action = ""  # the UCloud action, for log lines
    what = ""  # "regions", "projects"
    noun = ""  # "region", "project"
    families_of: tuple[Family, Family, Family] | None = None  # ok, last success, count

    def __init__(
        self, client: UCloudClient, *, refresh_seconds: float, retry_seconds: float = RETRY_SECONDS
    ) -> None:
        self._client = client
        self._refresh, self._retry = refresh_seconds, retry_seconds
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

    def discovers(self, account: Account) -> bool:
        """Return whether ``account``'s values come from the API (else from its config)."""
        raise NotImplementedError

    def configured(self, account: Account) -> tuple[str, ...]:
        """Return the values ``account``'s configuration gives (when not discovered)."""
        raise NotImplementedError

    async def fetch(
        self, account: Account, state: _Known, *, deadline: float, observe: Observer
    ) -> tuple[str, ...]:
        """Call the API once; return the values (raise UCloudError)."""
        raise NotImplementedError

    def interval(self, account: Account) -> float:
        """Return how long a successful discovery of ``account`` stays good."""
        return self._refresh

    def fallback(self, account: Account) -> tuple[str, ...]:
        """Return what is served while nothing is discovered yet (none by default)."""
        return ()

    def first_wait(self, account: Account) -> float:
        """Return how long a caller waits for a discovery while nothing is known yet (at
        most its deadline; the discovery goes on meanwhile)."""
        return float("inf")

    def known(self, account: Account) -> tuple[str, ...]:
        """Return the values known now, without calling the API."""
        if not self.discovers(account):
            return self.configured(account)
        state = self._known.get(account.name)
        return (state.values if state else ()) or self.fallback(account)

    async def get(self, account: Account, *, deadline: float, observe: Observer) -> tuple[str, ...]:
        """Return the account's values, refreshing discovered ones when due; wait for the
        refresh until ``deadline`` (``first_wait`` at most while nothing is known)."""
        if not self.discovers(account):
            return self.configured(account)
        state = self._known.setdefault(account.name, _Known())
        if self._due(account, state) and (state.task is None or state.task.done()):
            state.task = asyncio.ensure_future(self._refresh_one(account, state, deadline, observe))
        if state.task is not None and not state.task.done():
            remaining = max(0.0, deadline - time.monotonic())
            if not state.values:
                remaining = min(remaining, self.first_wait(account))
            await asyncio.wait([asyncio.shield(state.task)], timeout=remaining)
        return state.values or self.fallback(account)

    def _due(self, account: Account, state: _Known) -> bool:
        if state.refreshed is None:
            return True
        wait = self.interval(account) if state.ok else min(self._refresh, self._retry)
        return time.monotonic() - state.refreshed >= wait

    async def _refresh_one(
        self, account: Account, state: _Known, deadline: float, observe: Observer
    ) -> tuple[str, ...]:
        state.refreshed = time.monotonic()
        try:
            values = await self.fetch(account, state, deadline=deadline, observe=observe)
        except UCloudError as exc:
            state.ok = False
            log.warning(
                "%s discovery failed, keeping %d known %s: %s",
                self.noun,
                len(state.values),
                self.what,
                exc,
                extra={"account": account.name, "action": self.action, **exc.log_fields()},
            )
            return state.values
        if values != state.values:
            log.info(
                "discovered %s: %s", self.what, ", ".join(values), extra={"account": account.name}
            )
        state.values, state.ok, state.last_success = values, True, time.time()
        return values

    def families(self) -> Iterator[Metric]:
        """Yield discovery success, last-success and count gauges of discovered accounts."""
        assert self.families_of is not None
        ok, last, count = (f.new() for f in self.families_of)
        for name, state in sorted(self._known.items()):
            ok.add_metric((name,), 1 if state.ok else 0)
            count.add_metric((name,), len(state.values))
            if state.last_success is not None:
                last.add_metric((name,), state.last_success)
        yield from (ok, last, count)


class RegionBook(_Book):
    """The regions of each account: listed, or discovered every ``region_refresh_seconds``."""

    action, what, noun = "GetRegion", "regions", "region"
    families_of = (metrics.DISCOVERY_OK, metrics.DISCOVERY_TIME, metrics.DISCOVERY_REGIONS)

    def discovers(self, account: Account) -> bool:
        """Return whether the account has ``regions: auto``."""
        return account.discover_regions

    def configured(self, account: Account) -> tuple[str, ...]:
        """Return the listed regions."""
        return account.regions

    async def fetch(
        self, account: Account, state: _Known, *, deadline: float, observe: Observer
    ) -> tuple[str, ...]:
        """Call GetRegion."""
        return await get_regions(self._client, account, deadline=deadline, observe=observe)

    async def regions(
        self, account: Account, *, deadline: float, observe: Observer
    ) -> tuple[str, ...]:
        """Return the account's regions, refreshing discovered ones when due."""
        return await self.get(account, deadline=deadline, observe=observe)


class ProjectBook(_Book):
    """The projects of each account, as ``project`` label values.

    ``project_id: ID`` or ``[a, b]``: those. ``project_id: auto``: every project
    GetProjectList shows, refreshed every ``project_refresh_seconds``. None set: the key's
    default project (``IsDefault``), resolved once; when the key may not call GetProjectList
    (the gateway refuses it: a RetCode, not a timeout), ``DEFAULT_PROJECT`` ("default"), logged
    once, and its requests carry no ProjectId, as before. Until the default project is
    resolved (the gateway is down at start), the account's targets are listed and reported as
    ``DEFAULT_PROJECT`` too, so that their failures show; once it is, they take its id.
    """

    action, what, noun = "GetProjectList", "projects", "project"
    families_of = (
        metrics.PROJECT_DISCOVERY_OK,
        metrics.PROJECT_DISCOVERY_TIME,
        metrics.PROJECT_DISCOVERY_PROJECTS,
    )

    def discovers(self, account: Account) -> bool:
        """Return whether the projects come from GetProjectList (auto, or none set)."""
        return not account.projects

    def configured(self, account: Account) -> tuple[str, ...]:
        """Return the configured projects."""
        return account.projects

    def fallback(self, account: Account) -> tuple[str, ...]:
        """Return ``DEFAULT_PROJECT`` while a default project is not resolved (none for
        ``auto``: its projects are unknown)."""
        return () if account.discover_projects else (DEFAULT_PROJECT,)

    def first_wait(self, account: Account) -> float:
        """Return ``RESOLVE_WAIT_SECONDS`` for a default project's first resolution: while
        GetProjectList hangs, the account is listed as ``DEFAULT_PROJECT`` meanwhile."""
        return float("inf") if account.discover_projects else RESOLVE_WAIT_SECONDS

    def interval(self, account: Account) -> float:
        """Return the refresh interval (``auto``), or forever (a resolved default project)."""
        return self._refresh if account.discover_projects else float("inf")

    async def fetch(
        self, account: Account, state: _Known, *, deadline: float, observe: Observer
    ) -> tuple[str, ...]:
        """Call GetProjectList; for a default project, fall back to ``DEFAULT_PROJECT`` when
        the gateway refuses the call."""
        try:
            projects = await get_projects(self._client, account, deadline=deadline, observe=observe)
        except APIError as exc:
            if account.discover_projects or exc.transient:
                raise
            if state.values != (DEFAULT_PROJECT,):
                log.warning(
                    "cannot resolve the default project (%s): its series carry "
                    'project="%s" and its requests no ProjectId',
                    exc,
                    DEFAULT_PROJECT,
                    extra={"account": account.name, "action": self.action, **exc.log_fields()},
                )
            return (DEFAULT_PROJECT,)
        if account.discover_projects:
            return tuple(p.id for p in projects)
        default = next((p.id for p in projects if p.is_default), None)
        if default is None:
            raise DecodeError("GetProjectList names no default project (IsDefault)")
        return (default,)

    async def projects(
        self, account: Account, *, deadline: float, observe: Observer
    ) -> tuple[str, ...]:
        """Return the account's projects, refreshing discovered ones when due."""
        return await self.get(account, deadline=deadline, observe=observe)
