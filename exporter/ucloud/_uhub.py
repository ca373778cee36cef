"""List one account's UHub registry: ``GetRepo``, ``GetRepoImage`` and ``GetImageTag``.

UHub is cross-region (no ``Region`` parameter). A refresh lists the account's repositories
(``GetRepo`` once per configured ``Type``, merged by name), every repository's images, and
then, for the images ``uhub.tag_counts`` selects, the number of tags (``GetImageTag`` with
``Limit=1``: its ``TotalCount``). Paging trusts the gateway as far as the bucket listing
does: a listing ends at an empty page, a short page, a page of names already seen or when
``TotalCount`` entries arrived; what was odd is reported in ``Registry.inconsistencies``. A
field that is missing or malformed drops only its value (``Registry.invalid``); any failed
call fails the whole refresh, so what is reported is never a silent part of the registry.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from exporter.config import Account, UHubSettings
from exporter.ucloud._auth import ParamValue
from exporter.ucloud._client import Observer, UCloudClient
from exporter.ucloud._errors import ListingTooLarge, PagingError
from exporter.ucloud._listing import OVERSIZED_PAGE, REPEATED_PAGE, TOTAL_AHEAD
from exporter.ucloud._page import count, page_set
from exporter.ucloud._text import clean
from exporter.ucloud._times import parse_time

GET_REPO, GET_REPO_IMAGE, GET_IMAGE_TAG = "GetRepo", "GetRepoImage", "GetImageTag"
MAX_PAGES = 1_000  # per paged listing: more is treated as a paging loop
MAX_IMAGES = 100_000  # per account and refresh: far beyond UHub's 8 repositories per project


@dataclass(frozen=True, slots=True)
class Repo:
    """One repository; a flag the API left out or garbled is None."""

    name: str
    shared: bool | None  # IsShared
    internet_access: bool | None  # IsOutSide
    images: int  # entries GetRepoImage listed (named or not)


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


@dataclass(frozen=True, slots=True)
class _Page:
    items: list[Mapping[str, Any]]  # the JSON objects of the set
    size: int  # entries, objects or not
    total: int | None


def _page_of(key: str) -> Callable[[Mapping[str, Any]], _Page]:
    def parse(body: Mapping[str, Any]) -> _Page:
        items, total = page_set(body, key)
        return _Page([i for i in items if isinstance(i, dict)], len(items), total)

    return parse


def _flag(value: Any) -> bool | None:
    """Read ``"true"``/``"false"`` (as UHub sends them) or a JSON boolean."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def _name(value: Any) -> str | None:
    return clean(value) if isinstance(value, str) and value else None


@dataclass
class _Refresh:
    """State of one refresh: requests spent and oddities seen."""

    client: UCloudClient
    account: Account
    deadline: float
    observe: Observer
    requests: int = 0
    invalid: Counter[str] = field(default_factory=Counter)
    kinds: set[str] = field(default_factory=set)

    async def call(self, params: Mapping[str, ParamValue], key: str) -> _Page:
        self.requests += 1
        if self.account.project_id:
            params = {**params, "ProjectId": self.account.project_id}
        return await self.client.call(
            self.account, params, deadline=self.deadline, observe=self.observe, parse=_page_of(key)
        )

    async def listing(
        self, params: Mapping[str, ParamValue], key: str, name_field: str
    ) -> list[tuple[str | None, Mapping[str, Any]]]:
        """Page through one listing; return its objects (de-duplicated by name), named."""
        limit = self.client.settings.page_size
        kept: list[tuple[str | None, Mapping[str, Any]]] = []
        seen: set[str] = set()
        offset, step, total = 0, limit, None
        for _ in range(MAX_PAGES):
            page = await self.call({**params, "Offset": offset, "Limit": limit}, key)
            total = page.total if offset == 0 else total
            step = min(page.size, limit) if offset == 0 else step
            if page.size > limit:
                self.kinds.add(OVERSIZED_PAGE)
            fresh = [(_name(i.get(name_field)), i) for i in page.items]
            fresh = [(n, i) for n, i in fresh if n is None or n not in seen]
            if page.items and not fresh:
                self.kinds.add(REPEATED_PAGE)
                return kept
            seen.update(n for n, _ in fresh if n is not None)
            kept += fresh
            self.invalid[name_field] += sum(n is None for n, _ in fresh)
            self.invalid["entry"] += page.size - len(page.items)
            if len(kept) > MAX_IMAGES:
                raise ListingTooLarge(f"more than {MAX_IMAGES} entries in one UHub listing")
            offset += step
            done = total is not None and len(kept) >= total
            if page.size == 0 or page.size < step or done:
                if total is not None and len(kept) < total:
                    self.kinds.add(TOTAL_AHEAD)
                return kept
        raise PagingError(f"gave up after {MAX_PAGES} pages of {params['Action']}")

    async def repos(self, types: Iterable[str]) -> list[tuple[str, Mapping[str, Any]]]:
        merged: dict[str, Mapping[str, Any]] = {}
        for kind in types:
            params = {"Action": GET_REPO, "Type": kind}
            for name, item in await self.listing(params, "RepoSet", "RepoName"):
                if name is not None:
                    merged.setdefault(name, item)
        return sorted(merged.items())

    async def images(self, repo: str, item: Mapping[str, Any]) -> tuple[Repo, list[Image]]:
        params = {"Action": GET_REPO_IMAGE, "RepoName": repo}
        entries = await self.listing(params, "ImageSet", "ImageName")
        images = [
            Image(repo, name, self._value(i, "PullCount", count), self._value(i, "UpdateTime"))
            for name, i in entries
            if name is not None
        ]
        shared, outside = (
            self._value(item, "IsShared", _flag),
            self._value(item, "IsOutSide", _flag),
        )
        return Repo(repo, shared, outside, len(entries)), images

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
        value = read(item.get(key))
        if value is None:
            self.invalid[key] += 1
        return value


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
) -> Registry:
    """Return ``account``'s UHub repositories, their images and the chosen tag counts."""
    run = _Refresh(client, account, deadline, observe)
    width = client.settings.max_concurrent_requests
    repos_found = await run.repos(settings.repo_types)
    listed = await _bounded([partial(run.images, r, i) for r, i in repos_found], width)
    repos = tuple(repo for repo, _ in listed)
    images = {(i.repo, i.name): i for _, found in listed for i in found}
    chosen = chosen_for_tags(images.values(), settings)
    counted = await _bounded([partial(run.tags, i) for i in chosen], width)
    images.update({(i.repo, i.name): i for i in counted})
    return Registry(
        repos=repos,
        images=tuple(images.values()),
        invalid={k: n for k, n in run.invalid.items() if n},
        inconsistencies=frozenset(run.kinds),
        requests=run.requests,
    )
