"""Page through ``GetImageBucketList``: first page, then the rest concurrently."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from exporter.config import Account
from exporter.ucloud._auth import ParamValue
from exporter.ucloud._client import Observer, UCloudClient
from exporter.ucloud._errors import DecodeError, PagingError

ACTION = "GetImageBucketList"
# A listing that needs more requests than this is treated as a paging loop.
MAX_REQUESTS_PER_LISTING = 20_000

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Bucket:
    """One image bucket as the API reported it (``type`` lower-cased)."""

    name: str
    type: str
    images: int
    created: int


@dataclass(frozen=True, slots=True)
class Listing:
    """Every bucket of one account and region, de-duplicated by name."""

    buckets: tuple[Bucket, ...]
    invalid_entries: int
    requests: int


@dataclass(frozen=True, slots=True)
class _Page:
    buckets: list[Bucket]
    size: int  # entries on the page, valid or not
    total: int | None
    invalid: int


def parse_page(body: Mapping[str, Any]) -> _Page:
    """Decode one page; skip (and count) entries with a missing or malformed field."""
    total = body.get("TotalCount")
    if total is not None and (isinstance(total, bool) or not isinstance(total, int) or total < 0):
        raise DecodeError(f"TotalCount is not a non-negative integer: {total!r:.40}")
    items = body.get("ImageSet", [])
    if items is None:
        items = []
    if not isinstance(items, list):
        raise DecodeError(f"ImageSet is a JSON {type(items).__name__}, not an array")
    buckets = [b for b in map(_bucket, items) if b is not None]
    return _Page(buckets, len(items), total, len(items) - len(buckets))


def _bucket(item: Any) -> Bucket | None:
    if not isinstance(item, dict):
        return None
    name, kind = item.get("BucketName"), item.get("BucketType")
    images, created = _count(item.get("ImageCount")), _count(item.get("CreateTime"))
    if not (isinstance(name, str) and name and isinstance(kind, str) and kind
            and images is not None and created is not None):
        return None
    return Bucket(name=name, type=kind.lower(), images=images, created=created)


def _count(value: Any) -> int | None:
    """Return ``value`` if it is a non-negative integer (not a bool), else None."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


async def gather_all(coros: list[Coroutine[Any, Any, T]]) -> list[T]:
    """Run coroutines concurrently; on the first failure cancel the rest and re-raise it."""
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        for t in tasks:
            t.cancel()


class _Pager:
    """State of one listing: pages fetched so far, requests spent."""

    def __init__(self, client: UCloudClient, account: Account, region: str, *,
                 deadline: float, observe: Observer) -> None:
        self._client, self._account = client, account
        self._deadline, self._observe = deadline, observe
        self._params: dict[str, ParamValue] = {"Action": ACTION, "Region": region,
                                               "BucketType": account.bucket_type}
        if account.bucket_name:
            self._params["BucketName"] = account.bucket_name
        if account.project_id:
            self._params["ProjectId"] = account.project_id
        self.requests = 0
        self.pages: list[tuple[int, _Page]] = []

    async def fetch(self, offset: int) -> _Page:
        """Fetch the page at ``offset``."""
        self.requests += 1
        if self.requests > MAX_REQUESTS_PER_LISTING:
            raise PagingError(f"gave up after {MAX_REQUESTS_PER_LISTING} page requests")
        params = {**self._params, "Offset": offset,
                  "Limit": self._client.settings.page_size}
        page = await self._client.call(self._account, params, deadline=self._deadline,
                                       observe=self._observe, parse=parse_page)
        self.pages.append((offset, page))
        return page

    async def by_total(self, total: int, step: int) -> None:
        """Fetch offsets [step, total) concurrently, then refetch any gaps short pages left."""
        self.check_budget(-(-(total - step) // step), total)
        gaps = [(off, min(step, total - off)) for off in range(step, total, step)]
        while gaps:
            pages = await gather_all([self.fetch(off) for off, _ in gaps])
            missing = []
            for (off, want), page in zip(gaps, pages, strict=True):
                if page.size == 0:
                    if page.total is not None and page.total <= off:
                        continue  # the list shrank while we paged: this is its end now
                    raise PagingError(f"empty page at Offset {off} although TotalCount is "
                                      f"{total}")
                if page.size < want:
                    missing.append((off + page.size, want - page.size))
            self.check_budget(len(missing), total)
            gaps = missing

    def check_budget(self, more: int, total: int) -> None:
        """Fail before planning more page requests than one listing may send."""
        if self.requests + more > MAX_REQUESTS_PER_LISTING:
            raise PagingError(f"TotalCount {total} would need {self.requests + more} page "
                              f"requests, more than {MAX_REQUESTS_PER_LISTING}")

    async def until_short(self, step: int) -> None:
        """Without TotalCount: fetch pages one by one until an empty or short one."""
        offset = step
        while True:
            page = await self.fetch(offset)
            if page.size == 0 or page.size < step:
                return
            offset += min(page.size, self._client.settings.page_size)


async def list_image_buckets(client: UCloudClient, account: Account, region: str, *,
                             deadline: float, observe: Observer) -> Listing:
    """Return every image bucket of ``account`` in ``region``."""
    pager = _Pager(client, account, region, deadline=deadline, observe=observe)
    first = await pager.fetch(0)
    # Advance by what came back, but never by more than was asked: extra entries are junk.
    step = min(first.size, client.settings.page_size)
    if first.total is not None:
        if first.size == 0 and first.total > 0:
            raise PagingError(f"empty first page although TotalCount is {first.total}")
        if first.size:
            await pager.by_total(first.total, step)
    elif first.size:
        await pager.until_short(step)
    unique: dict[str, Bucket] = {}
    for _, page in sorted(pager.pages, key=lambda p: p[0]):
        for bucket in page.buckets:
            unique.setdefault(bucket.name, bucket)
    return Listing(buckets=tuple(unique.values()),
                   invalid_entries=sum(p.invalid for _, p in pager.pages),
                   requests=pager.requests)

