"""The one refresh mechanism of every background source; scrapes read its states from memory.

A ``Source`` says what one kind of data is (which accounts have it, its interval and data
age, what makes an account the same across a reload, which settings force a relist) and how to
fetch it for one (account, project), or for one (account, project, region) when it is
``per_region``. A ``SourceBook`` runs it: one loop per account on the engine's event loop,
refreshing each of the account's projects (and regions) one after another every interval,
never on the scrape path. A failed refresh sets that part's ``up`` to false, names its
``reason`` and keeps serving the last data fetched successfully until it is older than the
source's max data age. A failure (or a bug) costs only the part it happened in.

A source may ``plan`` an account's round before its parts are fetched (to share a budget
between the account's projects) and keep what must outlive a round in the account's ``memo``
(a rotation cursor): both survive a reload that leaves the account's identity unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Generic, TypeVar

from exporter.config import Account, Config
from exporter.results import InternalError
from exporter.stats import Stats
from exporter.ucloud import Observer, UCloudClient, UCloudError

T = TypeVar("T")
#: The projects of an account (``project`` label values), by a deadline (monotonic).
Projects = Callable[[Account, float], Awaitable[tuple[str, ...]]]
#: The regions of an account, by a deadline (monotonic).
Regions = Callable[[Account, float], Awaitable[tuple[str, ...]]]
#: The bucket names of one project of an account, by region (the regions whose listing
#: succeeded), by a deadline: the exporter's own bucket listing, listed again only when old.
BucketNames = Callable[[Account, str, float], Awaitable[dict[str, tuple[str, ...]]]]
#: What a state is kept under: account, project, region ("" for a source not per region).
Key = tuple[str, str, str]


@dataclass(frozen=True)  # no slots: a generic alias (``UHubState(...)``) must be callable
class SourceState(Generic[T]):
    """What the scrape shows of one (account, project)'s data of one source."""

    account: str
    project: str
    region: str = ""  # of a per-region source's state; "" otherwise
    up: bool | None = None  # None until the first refresh ends
    reason: str | None = None  # why the last refresh failed
    duration: float | None = None  # of the last refresh
    last_success: float | None = None  # wall clock
    data: T | None = None  # the last good data, while young enough
    #: when ``data`` was fetched (wall clock): the last success, or a later refresh that
    #: failed only in part (``Source.failure``) and still brought fresh data
    fetched: float | None = None


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """What one fetch works with: the client and config of now, its deadline (monotonic),
    the account's API-call observer, the data the account's other projects hold now (for
    a bound per account, such as ``uhub.max_images``), the region (of a per-region source),
    the data it replaces, what ``plan`` planned for this project, and the account's memo."""

    client: UCloudClient
    config: Config
    deadline: float
    observe: Observer
    siblings: tuple[T, ...] = ()
    region: str = ""
    old: T | None = None
    plan: object = None
    memo: dict[str, object] = field(default_factory=dict)
    buckets: BucketNames | None = None


class Source(ABC, Generic[T]):
    """One kind of background data: what a new source implements."""

    #: Its name in log lines ("UHub refresh failed: ...").
    title: str
    #: Where its log lines go.
    log: logging.Logger
    #: Whether it is fetched per (account, project, region) instead of per (account, project).
    per_region: bool = False

    @abstractmethod
    def enabled(self, account: Account) -> bool:
        """Whether ``account`` has this source (its switch in the config)."""

    @abstractmethod
    def interval(self, config: Config) -> float:
        """Seconds from the end of an account's refresh to the start of its next one."""

    @abstractmethod
    def max_data_age(self, config: Config) -> float:
        """Seconds after its last success that an (account, project)'s data is still served."""

    @abstractmethod
    def identity(self, account: Account) -> tuple[object, ...]:
        """What makes an account's data the same data across a reload (keys, projects)."""

    @abstractmethod
    def listing(self, config: Config) -> tuple[object, ...]:
        """The settings that shape fetched data: a change relists every account at once."""

    @abstractmethod
    async def fetch(self, call: Call[T], account: Account, project: str) -> T:
        """Fetch ``account``'s ``project``'s data once (raise ``UCloudError`` on failure)."""

    def fetched(self, stats: Stats, config: Config, key: Key, data: T, old: T | None) -> None:
        """Record what a successful fetch found odd (counters, log lines); ``old``: the data
        it replaces, if any. By default nothing."""

    def failure(self, data: T) -> UCloudError | None:
        """Return why fetched ``data`` is only partly fresh (some of its parts failed: the
        refresh counts as failed, yet the data is kept), else None. By default None."""
        return None

    async def plan(
        self, call: Call[T], account: Account, projects: tuple[str, ...]
    ) -> dict[str, object]:
        """Plan a round of ``account``'s refreshes: what each project's fetch gets as
        ``call.plan`` (``call.memo`` is the account's, kept across rounds). By default none."""
        return {}


class SourceBook(Generic[T]):
    """Own one source's refresh tasks (one per account having it) and its states.

    Each account's refresh (of each of its projects, as ``projects`` gives them) runs the
    source's interval after its last one ended (at once when it has none). A reload
    reconfigures the book in place (``reconfigure``): an unchanged account keeps its states and
    its schedule.
    """

    def __init__(
        self,
        source: Source[T],
        client: UCloudClient,
        config: Config,
        stats: Stats,
        projects: Projects,
        *,
        previous: Iterable[SourceState[T]] = (),
        regions: Regions | None = None,
        buckets: BucketNames | None = None,
    ) -> None:
        """``previous``: states of a replaced book, kept for accounts still listed;
        ``regions`` (needed by a per-region source) and ``buckets`` as the engine knows them."""
        self.source = source
        self._client, self._config, self._stats = client, config, stats
        self._projects, self._regions, self._buckets = projects, regions, buckets
        self._accounts = self._having(config)
        self._states: dict[Key, SourceState[T]] = {
            (s.account, s.project, s.region): s for s in previous if s.account in self._accounts
        }
        self._memos: dict[str, dict[str, object]] = {}  # each account's, across rounds
        self._plans: dict[str, dict[str, object]] = {}  # each account's round in progress
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._ended: dict[str, float] = {}  # monotonic end of each account's last refresh
        self._changed = asyncio.Event()  # set (and replaced) when a reload changes the schedule

    def _having(self, config: Config) -> dict[str, Account]:
        return {a.name: a for a in config.accounts if self.source.enabled(a)}

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

        An account whose identity (keys, projects) is unchanged keeps its state and schedule;
        changed listing settings make it refresh at once, still showing its data until then.
        A changed account starts afresh, a removed one stops. A refresh in flight is cancelled
        when the account changes, the listing settings change, or a new ``client`` comes (a
        changed ``ucloud`` section); it runs again at once.
        """
        source, accounts = self.source, self._having(config)
        relist = source.listing(self._config) != source.listing(config)
        stopping = []
        for name in {*self._accounts, *(key[0] for key in self._states)}:
            new, old = accounts.get(name), self._accounts.get(name)
            fresh = new is None or old is None or source.identity(new) != source.identity(old)
            task = self._tasks.get(name)
            if task is not None and (fresh or relist or client is not self._client):
                del self._tasks[name]
                task.cancel()
                stopping.append(task)
            if fresh:
                self._ended.pop(name, None)
                self._memos.pop(name, None)
                for key in [k for k in self._states if k[0] == name]:
                    del self._states[key]
            elif relist:
                self._ended.pop(name, None)
        self._client, self._config, self._accounts = client, config, accounts
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()  # sleeping loops re-read their due time
        await asyncio.gather(*stopping, return_exceptions=True)
        await self.start()

    def states(self) -> list[SourceState[T]]:
        """Return every (account, project)'s state now, without calling the API (safe from any
        thread). Data older than the source's max data age is no longer served."""
        oldest = time.time() - self.source.max_data_age(self._config)
        return [
            s if s.fetched is None or s.fetched >= oldest else replace(s, data=None)
            for s in list(self._states.values())
        ]

    async def _every(self, name: str) -> None:
        while True:
            await self._due(name)
            await self.refresh_all(self._accounts[name])
            self._ended[name] = time.monotonic()

    async def refresh_all(self, account: Account) -> list[SourceState[T]]:
        """Refresh each of ``account``'s projects (and regions), one after another, as the
        source planned the round; forget the parts it no longer has (while its projects or
        regions are unknown, keep every state)."""
        deadline = time.monotonic() + self._config.collect.listing_timeout_seconds
        projects = await self._projects(account, deadline)
        regions: tuple[str, ...] = ("",)
        if self.source.per_region:
            if self._regions is None:
                raise TypeError(f"{self.source.title}: a per-region source needs regions")
            regions = await self._regions(account, deadline)
        if projects and regions:
            for key in [
                k
                for k in self._states
                if k[0] == account.name and (k[1] not in projects or k[2] not in regions)
            ]:
                del self._states[key]
        try:
            call = self._call(account, "", "", deadline)
            self._plans[account.name] = await self.source.plan(call, account, projects)
        except Exception as exc:  # each fetch of the round fails with it (logged there)
            self._plans[account.name] = dict.fromkeys(projects, exc)
        try:
            return [await self.refresh(account, p, r) for p in projects for r in regions]
        finally:
            self._plans.pop(account.name, None)

    def _call(self, account: Account, project: str, region: str, deadline: float) -> Call[T]:
        """Return what a fetch (or a plan, with no project) of ``account`` works with."""
        siblings = tuple(
            s.data
            for k, s in self._states.items()
            if k[0] == account.name and k[1] != project and s.data is not None
        )
        old = self._states.get((account.name, project, region))
        return Call(
            self._client,
            self._config,
            deadline,
            self._stats.observer(account.name),
            siblings,
            region=region,
            old=old.data if old is not None else None,
            plan=self._plans.get(account.name, {}).get(project),
            memo=self._memos.setdefault(account.name, {}),
            buckets=self._buckets,
        )

    async def _due(self, name: str) -> None:
        """Return when ``name``'s next refresh is due, re-judged when a reload changes it."""
        while (ended := self._ended.get(name)) is not None:
            left = ended + self.source.interval(self._config) - time.monotonic()
            if left <= 0:
                return
            changed = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), left)

    async def refresh(self, account: Account, project: str, region: str = "") -> SourceState[T]:
        """Fetch ``account``'s ``project``'s (``region``'s) data once and record the outcome."""
        source, config = self.source, self._config
        started, key = time.monotonic(), (account.name, project, region)
        where = {"account": account.name, "project": project}
        if region:
            where["region"] = region
        reason: str | None = None
        got: tuple[T] | None = None  # the fetched data, when the fetch succeeded
        try:
            deadline = started + config.collect.listing_timeout_seconds
            call = self._call(account, project, region, deadline)
            if isinstance(call.plan, Exception):  # the round could not be planned
                raise call.plan
            got = (await source.fetch(call, account, project),)
        except UCloudError as exc:
            reason = exc.reason
            source.log.warning(
                "%s refresh failed: %s",
                source.title,
                exc,
                extra={**where, "action": exc.action, **exc.log_fields()},
            )
        except Exception as exc:  # a bug must cost one account's data, not the loop
            reason = InternalError.reason
            source.log.exception("%s refresh crashed: %r", source.title, exc, extra=where)
        partly = source.failure(got[0]) if got is not None else None
        if partly is not None:  # the data is kept, the refresh counts as failed
            reason = partly.reason
            source.log.warning(
                "%s refresh failed in part: %s", source.title, partly,
                extra={**where, "action": partly.action, **partly.log_fields()},
            )  # fmt: skip
        old: SourceState[T] = self._states.get(key) or SourceState(*key)
        if got is not None:
            source.fetched(self._stats, config, key, got[0], old.data)
        state = SourceState(
            *key,
            up=got is not None and reason is None,
            reason=reason,
            duration=time.monotonic() - started,
            last_success=time.time() if got is not None and reason is None else old.last_success,
            data=got[0] if got is not None else old.data,
            fetched=time.time() if got is not None else old.fetched,
        )
        if account.name in self._accounts:  # not removed by a reload meanwhile
            self._states[key] = state
        return state
