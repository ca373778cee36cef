"""List one account's UHub registry: ``GetRepo``, ``GetRepoImage`` and ``GetImageTag``.

UHub is cross-region (no ``Region`` parameter). A refresh lists the account's repositories
(``GetRepo`` once per configured ``Type``, merged by name), every repository's images, and
then, for the images ``uhub.tag_counts`` selects, the number of tags (``GetImageTag`` with
``Limit=1``: its ``TotalCount``). Paging trusts the gateway as far as the bucket listing
does: a listing ends at an empty page, a short page, a page of names already seen or when
``TotalCount`` entries arrived; what was odd is reported in ``Registry.inconsistencies``. A
field that is missing or malformed drops only its value (``Registry.invalid``); any failed
call fails the whole refresh, so what is reported is never a silent part of the registry.
The one part it may be is a said one: at most ``uhub.max_images`` images per account and
refresh are kept, the first in a stable order (see :func:`list_registry`), and
``Registry.truncated`` says so.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from exporter.config import Account, UHubSettings
from exporter.ucloud._client import Observer, UCloudClient
from exporter.ucloud._page import count
from exporter.ucloud._paging import Entries, Pager
from exporter.ucloud._times import parse_time

GET_REPO, GET_REPO_IMAGE, GET_IMAGE_TAG = "GetRepo", "GetRepoImage", "GetImageTag"
#: Repositories kept per account and refresh: UHub allows 8 per project, so more is a hostile
#: gateway; the rest are dropped (the first in GetRepo's order, then sorted by name).
MAX_REPOS = 1_000
#: Why a refresh kept only part of the registry (``Registry.truncated``).
TOO_MANY_IMAGES, TOO_MANY_REPOS = "too_many_images", "too_many_repos"


@dataclass(frozen=True, slots=True)
class Repo:
    """One repository; a flag the API left out or garbled is None."""

    name: str
    shared: bool | None  # IsShared
    internet_access: bool | None  # IsOutSide
    # Images the repository holds: the entries GetRepoImage listed (named or not), or its
    # TotalCount when uhub.max_images cut the listing short; None when unknown (the cap was
    # reached before this repository, or a cut listing had no TotalCount).
    images: int | None


@dataclass(frozen=True, slots=True)
class Image:
    """One image of a repository; a missing or malformed value is None."""

    repo: str
    name: str
    pulls: int | None  # PullCount
    updated: int | None  # UpdateTime, Unix seconds
    tags: int | None = None  # GetImageTag TotalCount, for the images tag_counts selects


@dataclass(frozen=True, slots=True)
class Registry:
    """One account's registry as one refresh saw it."""

    repos: tuple[Repo, ...]
    images: tuple[Image, ...]
    invalid: Mapping[str, int]  # API field name -> entries where it was missing or malformed
    inconsistencies: frozenset[str]
    requests: int
    truncated: frozenset[str] = frozenset()  # too_many_images, too_many_repos: only part kept


def _flag(value: Any) -> bool | None:
    """Read ``"true"``/``"false"`` (as UHub sends them) or a JSON boolean."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


@dataclass
class _Refresh(Pager):
    """State of one refresh: requests spent, oddities seen, and why only part is kept."""

    truncated: set[str] = field(default_factory=set)

    async def repos(self, types: Iterable[str]) -> list[tuple[str, Mapping[str, Any]]]:
        """List the repositories of every type, merged by name: at most ``MAX_REPOS``."""
        merged: dict[str, Mapping[str, Any]] = {}

        def keep(page: Entries) -> bool:
            for name, item in page:
                if name is not None and len(merged) < MAX_REPOS:
                    merged.setdefault(name, item)
                elif name is not None and name not in merged:
                    self.truncated.add(TOO_MANY_REPOS)
            return len(merged) < MAX_REPOS

        for kind in types:
            params = {"Action": GET_REPO, "Type": kind}
            if len(merged) >= MAX_REPOS:
                self.truncated.add(TOO_MANY_REPOS)
                break
            _, _, cut = await self.listing(params, "RepoSet", "RepoName", keep, cap=MAX_REPOS)
            if cut:
                self.truncated.add(TOO_MANY_REPOS)
        return sorted(merged.items())

    async def images(
        self, repo: str, item: Mapping[str, Any], room: int
    ) -> tuple[Repo, list[Image]]:
        """List ``repo``'s images, keeping the first ``room`` of them in listing order."""
        params = {"Action": GET_REPO_IMAGE, "RepoName": repo}
        kept: list[Image] = []

        def keep(page: Entries) -> bool:
            for name, i in page:
                if name is None:
                    continue
                if len(kept) >= room:
                    self.truncated.add(TOO_MANY_IMAGES)
                    break
                pulls, updated = self._value(i, "PullCount", count), self._value(i, "UpdateTime")
                kept.append(Image(repo, name, pulls, updated))
            return len(kept) < room

        entries, total, cut = await self.listing(
            params, "ImageSet", "ImageName", keep, cap=max(room, 1)
        )
        if cut:
            self.truncated.add(TOO_MANY_IMAGES)
        held = (None if total is None else max(total, entries)) if cut else entries
        return self.repo(repo, item, held), kept

    def repo(self, name: str, item: Mapping[str, Any], images: int | None) -> Repo:
        """Return the repository ``item`` of GetRepo, holding ``images`` (None: unknown)."""
        shared = self._value(item, "IsShared", _flag)
        return Repo(name, shared, self._value(item, "IsOutSide", _flag), images)

    async def tags(self, image: Image) -> Image:
        params = {"Action": GET_IMAGE_TAG, "RepoName": image.repo, "ImageName": image.name}
        page = await self.call({**params, "Offset": 0, "Limit": 1}, "TagSet")
        tags = page.total
        if tags is None and page.size == 0:
            tags = 0  # a gateway may leave out a TotalCount of 0
        elif tags is None:
            self.invalid["TotalCount"] += 1
        return Image(image.repo, image.name, image.pulls, image.updated, tags)

    def _value(
        self, item: Mapping[str, Any], key: str, read: Callable[[Any], Any] = parse_time
    ) -> Any:
        return self.value(item, key, read)


def chosen_for_tags(images: Iterable[Image], settings: UHubSettings) -> list[Image]:
    """Return the images whose tags are counted: all, the most pulled, or none."""
    if settings.tag_counts == "all":
        return list(images)
    if settings.tag_counts == "top":
        ranked = sorted(images, key=lambda i: (-(i.pulls or 0), i.repo, i.name))
        return ranked[: settings.tag_counts_top]
    return []


async def _bounded(jobs: Iterable[Callable[[], Awaitable[Any]]], limit: int) -> list[Any]:
    """Run ``jobs`` at most ``limit`` at a time; the first failure cancels the rest."""
    gate = asyncio.Semaphore(limit)

    async def run(job: Callable[[], Awaitable[Any]]) -> Any:
        async with gate:
            return await job()

    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(run(job)) for job in jobs]
    except BaseExceptionGroup as failed:  # report the first failure as itself
        raise failed.exceptions[0] from None
    return [t.result() for t in tasks]


async def list_registry(
    client: UCloudClient,
    account: Account,
    settings: UHubSettings,
    *,
    deadline: float,
    observe: Observer,
    project: str | None = None,
) -> Registry:
    """Return ``account``'s UHub repositories, their images and the chosen tag counts, in
    project ``project`` (None: the account's ``project_id``; "": no ``ProjectId``).

    At most ``settings.max_images`` images are kept: the first in this order, repositories by
    name and, within one, the order GetRepoImage lists them in (``Offset`` order), so a refresh
    of an unchanged registry keeps the same images. Repositories are listed one after another
    and paging stops once the cap is reached: no image beyond it is held, no repository after
    it is asked for, no ``GetImageTag`` call is made for a dropped image.
    ``Registry.truncated`` then says why only part of the registry is there (empty: whole).
    """
    project = account.project_id if project is None else project
    run = _Refresh(client, account, deadline, observe, project)
    repos: list[Repo] = []
    images: list[Image] = []
    for name, item in await run.repos(settings.repo_types):
        room = settings.max_images - len(images)
        if room <= 0:  # the cap is reached: not listed, how many images it holds is unknown
            run.truncated.add(TOO_MANY_IMAGES)
            repos.append(run.repo(name, item, None))
            continue
        repo, found = await run.images(name, item, room)
        repos.append(repo)
        images += sorted(found, key=lambda i: i.name)
    chosen = chosen_for_tags(images, settings)
    counted = {
        (i.repo, i.name): i
        for i in await _bounded(
            [partial(run.tags, i) for i in chosen], client.settings.max_concurrent_requests
        )
    }
    return Registry(
        repos=tuple(repos),
        images=tuple(counted.get((i.repo, i.name), i) for i in images),
        invalid={k: n for k, n in run.invalid.items() if n},
        inconsistencies=frozenset(run.kinds),
        requests=run.requests,
        truncated=frozenset(run.truncated),
    )
