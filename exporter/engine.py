"""Collect every target concurrently on a private event loop, with single flight and caching."""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
import time
from collections.abc import Callable, Coroutine, Iterable
from typing import Any, TypeVar

from exporter.config import Account, Config
from exporter.discovery import ProjectBook, RegionBook
from exporter.keybook import KeyBook
from exporter.listings import list_target, log_failure
from exporter.loops import LOOPS, new_loop
from exporter.results import Result, Target, UnknownTargetError
from exporter.sources import (
    DOCKER_IMAGES,
    HOST_IMAGES,
    InsideBuckets,
    SourceBook,
    UHubBook,
    UHubState,
)
from exporter.stats import Stats
from exporter.ucloud import (
    TRANSPORTS,
    DeadlineExceeded,
    HostImages,
    UCloudClient,
)

log = logging.getLogger(__name__)
__all__ = ["MAX_COLLECT_SECONDS", "Engine"]
T = TypeVar("T")
# The longest a collection may take, whatever Prometheus's timeout header says (thread waits
# overflow beyond threading.TIMEOUT_MAX; no scrape should take longer anyway).
MAX_COLLECT_SECONDS = 600.0
# How long a reload waits for the event loop to take a new configuration (it applies later
# when the loop is busier than that).
RECONFIGURE_SECONDS = 30.0


class _Slot:
    """Per-target state: the running listing (single flight) and the last result."""

    __slots__ = ("last", "task")

    def __init__(self) -> None:
        self.task: asyncio.Task[Result] | None = None
        self.last: Result | None = None


class Engine:
    """Own the event loop thread, the API client and the per-target state."""

    def __init__(
        self,
        config: Config,
        *,
        client: UCloudClient | None = None,
        stats: Stats | None = None,
        uhub: Iterable[UHubState] = (),
        loop: str = LOOPS[0],
        http: str = TRANSPORTS[0],
    ) -> None:
        """``uhub``: the registries a replaced engine served, shown until refreshed.

        ``loop`` is one of ``LOOPS``, ``http`` one of ``TRANSPORTS`` (unless ``client``).
        """
        self.config = config
        self._accounts = {a.name: a for a in config.accounts}  # of the config in force
        self.stats = stats or Stats()
        self._loop = new_loop(loop)
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="ucloud-io", daemon=True
        )
        self._thread.start()
        self._http, self._own_client = http, client is None  # a client given is kept
        self.keys = KeyBook(config, self.stats)  # temporary keys, refreshed on this loop
        self._client = client or UCloudClient(config.ucloud, http=http, keys=self.keys.key)
        self._client.keys = self.keys.key
        asyncio.run_coroutine_threadsafe(self.keys.start(self._client), self._loop)
        self._slots: dict[tuple[str, str, str], _Slot] = {}
        self.regions = RegionBook(
            self._client, refresh_seconds=config.collect.region_refresh_seconds
        )
        self.projects = ProjectBook(
            self._client, refresh_seconds=config.collect.project_refresh_seconds
        )
        # The background sources, each refreshed on its own interval.
        self.uhub = UHubBook(self._client, config, self.stats, self._projects, previous=uhub)
        self.docker_images = SourceBook[InsideBuckets](
            DOCKER_IMAGES, self._client, config, self.stats, self._projects,
            regions=self._regions, buckets=self._bucket_names,
        )  # fmt: skip
        self.host_images = SourceBook[HostImages](
            HOST_IMAGES, self._client, config, self.stats, self._projects, regions=self._regions
        )
        for book in self._books:
            asyncio.run_coroutine_threadsafe(book.start(), self._loop)
        self._active = 0
        self._idle = threading.Condition()

    @property
    def _books(self) -> tuple[SourceBook[Any], ...]:
        return (self.uhub, self.docker_images, self.host_images)

    @property
    def targets(self) -> tuple[Target, ...]:
        """Return the targets known now (discovered projects and regions as last seen)."""
        return tuple(t for a in self.config.accounts for t in self._known_targets(a))

    def concurrency_limits(self) -> dict[str, int]:
        """Return each account's current API in-flight limit (safe from any thread)."""
        return self._client.concurrency_limits()

    def reconfigure(self, config: Config, *, timeout: float = RECONFIGURE_SECONDS) -> None:
        """Take a reloaded ``config`` in place, keeping what is still valid (any thread but
        the loop's). An equal config changes nothing and costs nothing.

        Kept: each target's slot (last result, cache, running listing) while its account's
        listing settings (keys, project, bucket type and name), the bucket filters and the
        base URL are unchanged and the region is still wanted; the discovered regions of
        accounts whose keys, project and base URL are unchanged; UHub states and schedules
        (``UHubBook.reconfigure``). The rest is cancelled and forgotten.
        A changed ``ucloud:`` section is taken by the client in place (timeouts, retries, page
        size, limits); a new base URL or pool size needs a new client: the requests in flight
        on the old one are cancelled (their listings, discoveries and UHub refreshes start again
        when next due) and the old client is closed. Results stay valid, but a new base URL is
        another gateway: targets and discovered regions start afresh, registries are relisted.
        """
        if config == self.config:
            return
        future = asyncio.run_coroutine_threadsafe(self._reconfigure(config), self._loop)
        try:
            future.result(timeout)
        except TimeoutError:
            log.warning("event loop busy: the reloaded configuration applies when it is free")

    async def _reconfigure(self, config: Config) -> None:
        old, client = self.config, self._client
        if config.ucloud != old.ucloud and not client.adopt(config.ucloud) and self._own_client:
            client = UCloudClient(config.ucloud, http=self._http, keys=self.keys.key)
        before, accounts = {a.name: a for a in old.accounts}, {a.name: a for a in config.accounts}
        stopping: list[asyncio.Future[Any]] = []
        for key, slot in list(self._slots.items()):
            running = slot.task is not None and not slot.task.done()
            was, now = before.get(key[0]), accounts.get(key[0])
            if was is None or now is None or not _keeps_listing(old, was, config, now, key[1:]):
                del self._slots[key]
            elif client is self._client or not running:
                continue
            if running and slot.task is not None:
                slot.task.cancel()
                stopping.append(slot.task)
        for book, refresh, same in (
            (self.regions, config.collect.region_refresh_seconds, _regions_of),
            (self.projects, config.collect.project_refresh_seconds, _projects_of),
        ):
            keep = {
                a.name
                for a in old.accounts
                if (new := accounts.get(a.name)) is not None and same(old, a) == same(config, new)
            }
            stopping += book.reconfigure(client, refresh_seconds=refresh, keep=keep)
        self._client.forget(
            a.name for a in old.accounts if _pacing(accounts.get(a.name)) != _pacing(a)
        )
        stopping += self.keys.reconfigure(client, config)  # with the config, no await between
        replaced, self._client, self.config = self._client, client, config
        self._accounts = accounts
        await asyncio.gather(*stopping, return_exceptions=True)
        for books in self._books:
            await books.reconfigure(client, config)
        if replaced is not client:
            await replaced.aclose()
            # Its transport holds its SSL context (the certificate store, about 0.7 MiB) in a
            # reference cycle: freed at once it is reused by the next client, left to a later
            # full collection it fragments the heap (+80 MiB over 300 such reloads).
            gc.collect()
        log.debug("engine reconfigured: %d targets kept", len(self._slots))

    def close(self, *, wait: float = 0.0) -> None:
        """Wait up to ``wait`` s for running collections, close the client, stop the loop."""
        with self._idle:
            self._idle.wait_for(lambda: self._active == 0, timeout=wait)
        if self._loop.is_closed():
            return
        self._run(self._shutdown(), until=time.monotonic() + 5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def collect(
        self,
        *,
        timeout: float,
        targets: Iterable[Target] | None = None,
        reserve: Callable[[int], float] = lambda buckets: 0.0,
    ) -> list[Result]:
        """``acollect`` for a caller outside any event loop (tools, tests); blocks."""
        return asyncio.run(self.acollect(timeout=timeout, targets=targets, reserve=reserve))

    async def acollect(
        self,
        *,
        timeout: float,
        targets: Iterable[Target] | None = None,
        reserve: Callable[[int], float] = lambda buckets: 0.0,
    ) -> list[Result]:
        """Return one Result per target (all known ones by default) within ``timeout`` s.

        Awaited from any event loop (the HTTP server's); the listings run on the engine's.
        Whatever happens there, the answer is ready by the deadline: a target whose listing
        finished is reported whole, one that did not is ``deadline``. ``reserve(n)`` is how
        long writing an answer of ``n`` buckets takes: waiting stops that much before the
        deadline, re-judged each time a listing finishes.
        """
        timeout = min(timeout, MAX_COLLECT_SECONDS)
        started = time.monotonic()
        chosen = None if targets is None else list(targets)
        keys = None if chosen is None else {t.key for t in chosen}

        def until() -> float:
            return started + timeout - reserve(self._known_buckets(keys))

        def settle() -> list[Result]:  # the loop is too busy to answer: read what finished
            return [self._outcome(t, started) for t in (self.targets if chosen is None else chosen)]

        return await self._await(
            self._collect(chosen, started, timeout, until), until=until, on_timeout=settle
        )

    def _known_buckets(self, keys: set[tuple[str, str, str]] | None) -> int:
        """Count the buckets of the targets' last results (what an answer would hold)."""
        slots = list(self._slots.items())  # one atomic copy: the loop may add a slot
        return sum(
            len(slot.last.buckets or ())
            for key, slot in slots
            if slot.last is not None and (keys is None or key in keys)
        )

    def resolve(
        self, account: str, region: str | None, *, timeout: float, project: str | None = None
    ) -> list[Target]:
        """``aresolve`` for a caller outside any event loop (tools, tests); blocks."""
        return asyncio.run(self.aresolve(account, region, timeout=timeout, project=project))

    async def aresolve(
        self, account: str, region: str | None, *, timeout: float, project: str | None = None
    ) -> list[Target]:
        """Return the targets of a probe (every project and region of the account unless
        ``project`` or ``region`` chooses one); raise UnknownTargetError for anything unknown."""
        acc = next((a for a in self.config.accounts if a.name == account), None)
        if acc is None:
            raise UnknownTargetError(f"unknown account {account!r}")
        deadline = time.monotonic() + min(timeout, MAX_COLLECT_SECONDS)
        projects, regions = await self._await(
            self._scope(acc, deadline),
            until=lambda: deadline,
            on_timeout=lambda: (self.projects.known(acc), self.regions.known(acc)),
        )
        if region is not None and region not in regions:
            raise UnknownTargetError(
                f"region {region!r} is not configured or discovered for account {account!r}"
            )
        if project is not None and project not in projects:
            raise UnknownTargetError(
                f"project {project!r} is not configured or discovered for account {account!r}"
            )
        return [
            Target(acc, p, r)
            for p in ((project,) if project is not None else projects)
            for r in ((region,) if region is not None else regions)
        ]

    async def _await(
        self,
        coro: Coroutine[Any, Any, T],
        *,
        until: Callable[[], float],
        on_timeout: Callable[[], T],
    ) -> T:
        """Run ``coro`` on the engine's loop, awaited from the caller's; at ``until()`` (judged
        again when reached) cancel it and return ``on_timeout()``."""
        with self._idle:
            self._active += 1
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            waiting = asyncio.wrap_future(future)
            while (left := until() - time.monotonic()) > 0:
                done, _ = await asyncio.wait([waiting], timeout=left)
                if done:
                    return waiting.result()
            return on_timeout()
        finally:
            future.cancel()  # a no-op once it is done; our caller may have been cancelled
            with self._idle:
                self._active -= 1
                self._idle.notify_all()

    def _run(self, coro: Coroutine[Any, Any, T], *, until: float) -> T | None:
        """Run ``coro`` on the loop from another thread; None if it is not done by ``until``."""
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(max(0.0, until - time.monotonic()))
        except TimeoutError:
            future.cancel()
            return None

    async def _projects(self, account: Account, deadline: float) -> tuple[str, ...]:
        return await self.projects.projects(
            account, deadline=deadline, observe=self.stats.observer(account.name)
        )

    async def _regions(self, account: Account, deadline: float) -> tuple[str, ...]:
        return await self.regions.regions(
            account, deadline=deadline, observe=self.stats.observer(account.name)
        )

    async def _bucket_names(
        self, account: Account, project: str, deadline: float
    ) -> dict[str, tuple[str, ...]]:
        """Return the names of ``account``'s buckets in ``project``, by region (those whose
        listing answered): the last listing when younger than the images' interval, else
        a new one (shared with scrapes: single flight)."""
        young = self.config.docker_images.refresh_seconds
        targets = [Target(account, project, r) for r in await self._regions(account, deadline)]

        async def names(target: Target) -> Result:
            slot = self._slots.get(target.key)
            last = slot.last if slot is not None else None
            if last is not None and last.ok and time.monotonic() - last.finished < young:
                return last
            return await self._get(target, deadline)

        results = await asyncio.gather(*(names(t) for t in targets))
        return {
            r.region: tuple(b.name for b in r.buckets if b.name is not None)
            for r in results
            if r.buckets is not None
        }

    async def _scope(
        self, account: Account, deadline: float
    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Return the account's projects and regions (discovered concurrently)."""
        projects, regions = await asyncio.gather(
            self._projects(account, deadline),
            self.regions.regions(
                account, deadline=deadline, observe=self.stats.observer(account.name)
            ),
        )
        return projects, regions

    async def _targets_of(self, account: Account, deadline: float) -> list[Target]:
        projects, regions = await self._scope(account, deadline)
        return [Target(account, p, r) for p in projects for r in regions]

    async def _collect(
        self,
        chosen: list[Target] | None,
        started: float,
        timeout: float,
        until: Callable[[], float],
    ) -> list[Result]:
        """List ``chosen`` (every target by default: each account's listings start as soon as
        its own projects and regions are known, so one slow discovery delays no other account)
        until ``until()``; return every target's outcome."""
        deadline = started + timeout
        accounts = self.config.accounts  # a reload may swap the config while this waits
        found: list[list[Target] | None] = [None] * len(accounts) if chosen is None else [chosen]
        scopes: dict[asyncio.Future[Any], int] = {} if chosen is not None else {
            asyncio.ensure_future(self._targets_of(a, deadline)): i for i, a in enumerate(accounts)
        }  # fmt: skip
        waits = [asyncio.ensure_future(self._get(t, deadline)) for t in chosen or ()]
        pending: set[asyncio.Future[Any]] = {*scopes, *waits}
        try:
            while pending and (left := until() - time.monotonic()) > 0:
                done, pending = await asyncio.wait(
                    pending, timeout=left, return_when=asyncio.FIRST_COMPLETED
                )
                for scope in done & scopes.keys():
                    targets = found[scopes[scope]] = scope.result()
                    started_now = [asyncio.ensure_future(self._get(t, deadline)) for t in targets]
                    waits += started_now
                    pending.update(started_now)
        finally:
            for wait in (*scopes, *waits):
                wait.cancel()  # only our wait: the shared listing goes on (shielded)
        if chosen is None:
            self._prune(
                [t for ts in found if ts is not None for t in ts],
                {a.name for a, ts in zip(accounts, found, strict=True) if ts is not None},
            )
        return [
            self._outcome(t, started)
            for i, ts in enumerate(found)
            for t in (ts if ts is not None else self._known_targets(accounts[i]))
        ]

    def _known_targets(self, account: Account) -> list[Target]:
        """Return the account's targets as last discovered (its discovery is still running)."""
        return [
            Target(account, p, r)
            for p in self.projects.known(account)
            for r in self.regions.known(account)
        ]

    def _prune(self, targets: list[Target], accounts: set[str]) -> None:
        """Forget the targets of ``accounts`` that are not in ``targets`` any more (a project or
        region that discovery no longer finds): their slots, counters and last success."""
        keep = {t.key for t in targets}
        gone = [k for k in self._slots if k[0] in accounts and k not in keep]
        for key in gone:
            slot = self._slots.pop(key)
            if slot.task is not None and not slot.task.done():
                slot.task.cancel()
        if gone:
            self.stats.forget_targets(set(gone))

    def _outcome(self, target: Target, started: float) -> Result:
        """Return the target's result for a scrape that began at ``started``.

        It is the last finished listing, success or failure, if that finished during the
        scrape, is fresh under ``min_interval_seconds``, or, while the next listing runs on
        past the scrape (detached), is at most ``max_data_age_seconds`` old (the age of served
        data shows in ``…_last_success_timestamp_seconds``). Else a ``deadline`` failure.
        Safe from any thread.
        """
        slot = self._slots.get(target.key)
        last = slot.last if slot is not None else None
        max_age = self.config.collect.max_data_age_seconds
        if last is not None and (
            last.finished >= started
            or self._fresh(last, started)
            or time.monotonic() - last.finished <= max_age
        ):
            return last
        elapsed = time.monotonic() - started
        error = DeadlineExceeded(f"listing not finished within the {elapsed:.2f}s budget")
        log_failure(target, error)
        return Result(*target.key, None, elapsed, time.monotonic(), error)

    def _fresh(self, result: Result, at: float) -> bool:
        """Return whether ``result`` may be served at ``at`` without listing again: under
        ``min_interval_seconds``, or, when it found no bucket, ``empty_interval_seconds``."""
        collect = self.config.collect
        interval = collect.min_interval_seconds
        if result.buckets is not None and not result.buckets:
            interval = max(interval, collect.empty_interval_seconds)
        return bool(interval) and at - result.finished < interval

    async def _get(self, target: Target, deadline: float) -> Result:
        """Wait for the target's listing, starting one if none runs (one at a time).

        The listing has its own deadline (``listing_timeout_seconds``): when the scrape stops
        waiting, it goes on in the background and the next scrape serves its result.
        """
        slot = self._slots.setdefault(target.key, _Slot())
        if slot.last is not None and self._fresh(slot.last, time.monotonic()):
            return slot.last
        if slot.task is None or slot.task.done():
            cap = time.monotonic() + self.config.collect.listing_timeout_seconds
            slot.task = asyncio.ensure_future(self._list(target, slot, cap))
        return await asyncio.shield(slot.task)

    async def _list(self, target: Target, slot: _Slot, deadline: float) -> Result:
        if not self._current(target):  # chosen by a scrape begun before a reload changed it
            if self._slots.get(target.key) is slot:
                del self._slots[target.key]
            error = DeadlineExceeded("target removed or changed by a reload; not listed")
            return Result(*target.key, None, 0.0, time.monotonic(), error)
        slot.last = await list_target(self._client, self.config, self.stats, target, deadline)
        return slot.last

    def _current(self, target: Target) -> bool:
        """Return whether the configuration in force still has ``target`` as it is."""
        now = self._accounts.get(target.account.name)
        return now is not None and _keeps_listing(
            self.config, target.account, self.config, now, target.key[1:]
        )

    async def _shutdown(self) -> None:
        """Stop the background sources and the listings still running (detached), then the
        client."""
        for book in self._books:
            await book.stop()
        await self.keys.stop()
        listings = [s.task for s in self._slots.values() if s.task is not None]
        for task in listings:
            task.cancel()
        await asyncio.gather(*listings, return_exceptions=True)
        await self._client.aclose()


def _pacing(account: Account | None) -> tuple[object, ...] | None:
    """What an account's API pacing (AIMD limit, request rate) depends on; None: removed."""
    return None if account is None else (account.public_key, account.max_requests_per_second)


def _identity(config: Config, account: Account) -> tuple[object, ...]:
    """Who the account is: its keys (or where they come from), at its gateway."""
    return (*account.key_source, config.ucloud.base_url)


def _regions_of(config: Config, account: Account) -> tuple[object, ...]:
    """What makes an account's discovered regions the same across a reload."""
    return (*_identity(config, account), account.project_id, account.discover_regions)


def _projects_of(config: Config, account: Account) -> tuple[object, ...]:
    """What makes an account's discovered projects the same across a reload."""
    return (*_identity(config, account), account.discover_projects, bool(account.projects))


def _keeps_listing(
    old: Config, before: Account, new: Config, after: Account, scope: tuple[str, str]
) -> bool:
    """Return whether a target's (``scope``: project, region) last result and running
    listing stay valid under ``new``."""
    project, region = scope
    if not (after.discover_regions or region in after.regions):
        return False
    if after.projects and project not in after.projects:
        return False
    return _listing(old, before) == _listing(new, after)


def _listing(config: Config, account: Account) -> tuple[object, ...]:
    """What makes a target's listing (and so its result) the same across a reload."""
    return (
        *_identity(config, account),
        account.bucket_type,
        account.bucket_name,
        config.collect.include_buckets,
        config.collect.exclude_buckets,
    )
