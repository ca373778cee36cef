"""Page through ``GetImageBucketList``: the first page, then a bounded window of the rest.

The gateway is trusted only as far as what it really sends back. ``TotalCount`` bounds the
pages asked for but never makes a listing fail; a listing ends at the first empty page, at a
page shorter than the page size the gateway honours, or at a page that holds only buckets
already seen (a gateway that ignores ``Offset``). At most ``max_concurrent_requests`` pages
are in flight, and those beyond the end are cancelled, so a listing costs at most its real
page count plus that window. What was odd is reported as ``Listing.inconsistencies``.
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from exporter.config import Account
from exporter.ucloud._auth import ParamValue
from exporter.ucloud._buckets import Bucket, Buckets
from exporter.ucloud._client import Observer, UCloudClient
from exporter.ucloud._errors import DecodeError, ListingTooLarge, PagingError
from exporter.ucloud._text import clean

ACTION = "GetImageBucketList"
# A listing that needs more requests than this is treated as a paging loop.
MAX_REQUESTS_PER_LISTING = 20_000
KNOWN_TYPES = frozenset({"private", "public"})
# BucketType as the gateway spells it -> the label value (others are lower-cased first).
_TYPE_LABELS = {t: t for t in KNOWN_TYPES} | {t.capitalize(): t for t in KNOWN_TYPES}
NO_PROBLEMS: tuple[str, ...] = ()
UNKNOWN_TYPE = "unknown"
# The kinds of Listing.inconsistencies.
TOTAL_AHEAD = "total_ahead"  # the listing ended before TotalCount buckets came back
REPEATED_PAGE = "repeated_page"  # a page held only buckets already seen (Offset ignored)
OVERSIZED_PAGE = "oversized_page"  # a page held more entries than Limit asked for
NOT_AN_OBJECT = "entry"  # Listing.invalid key of ImageSet entries that are not JSON objects


@dataclass(frozen=True, slots=True)
class Listing:
    """Every bucket of one account and region, de-duplicated by name."""

    buckets: Sequence[Bucket]  # Buckets (columns) from list_image_buckets
    invalid: Mapping[str, int]  # API field name -> entries where it was missing or malformed
    inconsistencies: frozenset[str]
    requests: int


@dataclass(frozen=True, slots=True)
class _Page:
    entries: list[tuple[Bucket, tuple[str, ...]]]  # each bucket with its bad fields
    size: int  # entries on the page, objects or not
    total: int | None


def page_set(body: Mapping[str, Any], key: str) -> tuple[list[Any], int | None]:
    """Return a page's set ``key`` (absent or null: empty) and its ``TotalCount``, checked."""
    total = body.get("TotalCount")
    if total is not None and (isinstance(total, bool) or not isinstance(total, int) or total < 0):
        raise DecodeError(f"TotalCount is not a non-negative integer: {total!r:.40}")
    items = body.get(key)
    if items is None:
        return [], total
    if not isinstance(items, list):
        raise DecodeError(f"{key} is a JSON {type(items).__name__}, not an array")
    return items, total


def parse_page(body: Mapping[str, Any]) -> _Page:
    """Decode one page; every JSON object in ``ImageSet`` is a bucket."""
    items, total = page_set(body, "ImageSet")
    entries = [_bucket(item) for item in items if isinstance(item, dict)]
    return _Page(entries, len(items), total)


def _bucket(item: Mapping[str, Any]) -> tuple[Bucket, tuple[str, ...]]:
    name, kind = item.get("BucketName"), item.get("BucketType")
    images, created = item.get("ImageCount"), item.get("CreateTime")
    # The usual entry, every field well formed, checked without building a list (JSON
    # decodes to exact str and int, and ``type() is int`` leaves bools out).
    if (
        type(name) is str
        and name
        and type(kind) is str
        and (label := _TYPE_LABELS.get(kind)) is not None
        and type(images) is int
        and images >= 0
        and type(created) is int
        and created >= 0
    ):
        return Bucket(clean(name), label, images, created), NO_PROBLEMS
    return _odd_bucket(name, kind, images, created)


def _odd_bucket(name: Any, kind: Any, images: Any, created: Any) -> tuple[Bucket, tuple[str, ...]]:
    """Decode an entry with a missing or malformed field: that field is None (or unknown)."""
    bad: list[str] = []
    if not (isinstance(name, str) and name):
        bad.append("BucketName")
        name = None
    kind = kind.lower() if isinstance(kind, str) else None
    if kind not in KNOWN_TYPES:
        bad.append("BucketType")
        kind = UNKNOWN_TYPE
    images, created = count(images), count(created)
    if images is None:
        bad.append("ImageCount")
    if created is None:
        bad.append("CreateTime")
    bucket = Bucket(
        name=None if name is None else clean(name), type=kind, images=images, created=created
    )
    return bucket, tuple(bad)


def count(value: Any) -> int | None:
    """Return ``value`` if it is a non-negative integer (not a bool), else None."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


class _Pager:
    """State of one listing: the buckets kept so far, requests spent, oddities seen."""

    def __init__(
        self,
        client: UCloudClient,
        account: Account,
        region: str,
        *,
        deadline: float,
        observe: Observer,
    ) -> None:
        self._client, self._account = client, account
        self._deadline, self._observe = deadline, observe
        self._limit = client.settings.page_size
        self._params: dict[str, ParamValue] = {
            "Action": ACTION,
            "Region": region,
            "BucketType": account.bucket_type,
        }
        if account.bucket_name:
            self._params["BucketName"] = account.bucket_name
        if account.project_id:
            self._params["ProjectId"] = account.project_id
        self.requests = 0
        self.buckets: list[Bucket] = []
        self.invalid: Counter[str] = Counter()
        self.kinds: set[str] = set()
        self._seen: set[str] = set()

    async def fetch(self, offset: int) -> _Page:
        """Fetch the page at ``offset``."""
        self.requests += 1
        if self.requests > MAX_REQUESTS_PER_LISTING:
            raise PagingError(f"gave up after {MAX_REQUESTS_PER_LISTING} page requests")
        params = {**self._params, "Offset": offset, "Limit": self._limit}
        page = await self._client.call(
            self._account, params, deadline=self._deadline, observe=self._observe, parse=parse_page
        )
        if page.size > self._limit:
            self.kinds.add(OVERSIZED_PAGE)
        return page

    def keep(self, page: _Page) -> bool:
        """Keep the page's buckets not seen before; False if it had buckets, all seen."""
        fresh = 0
        for bucket, bad in page.entries:
            if bucket.name is not None:
                if bucket.name in self._seen:
                    continue
                self._seen.add(bucket.name)
            fresh += 1
            self.buckets.append(bucket)
            if bad:
                self.invalid.update(bad)
        if fresh:
            self.invalid[NOT_AN_OBJECT] += page.size - len(page.entries)
        cap = self._client.settings.max_buckets_per_listing
        if len(self.buckets) > cap:
            raise ListingTooLarge(
                f"more than {cap} buckets in one listing (ucloud.max_buckets_per_listing)"
            )
        return fresh > 0 or not page.entries

    def complete(self, total: int | None) -> bool:
        """Return whether everything TotalCount promises is here."""
        return total is not None and len(self.buckets) >= total

    async def rest(self, step: int, total: int | None) -> None:
        """Fetch the pages after the first, ``step`` apart, a bounded window at a time."""
        window = self._client.settings.max_concurrent_requests if total is not None else 1
        pending: deque[tuple[int, asyncio.Task[_Page]]] = deque()
        offset, end = step, total
        try:
            while True:
                while len(pending) < window and (total is None or offset < total):
                    pending.append((offset, _task(self.fetch(offset))))
                    offset += step
                if not pending:
                    break
                at, task = pending.popleft()
                page = await task
                if page.size == 0:
                    end = at
                    break
                if not self.keep(page):
                    self.kinds.add(REPEATED_PAGE)  # TotalCount may be true: no total_ahead
                    end = None
                    break
                if self.complete(total):
                    break
                if page.size < step:
                    end = at + page.size
                    break
        finally:
            for _, task in pending:
                task.cancel()
        if total is not None and end is not None and end < total:
            self.kinds.add(TOTAL_AHEAD)

    def listing(self) -> Listing:
        """Return what was kept."""
        return Listing(
            buckets=Buckets(self.buckets),
            invalid={k: n for k, n in self.invalid.items() if n},
            inconsistencies=frozenset(self.kinds),
            requests=self.requests,
        )


def _task(coro: Any) -> asyncio.Task[_Page]:
    """Start ``coro``; an error it raises after being cancelled is not reported twice."""
    task: asyncio.Task[_Page] = asyncio.ensure_future(coro)
    task.add_done_callback(lambda t: t.cancelled() or t.exception())
    return task


async def list_image_buckets(
    client: UCloudClient, account: Account, region: str, *, deadline: float, observe: Observer
) -> Listing:
    """Return every image bucket of ``account`` in ``region``."""
    pager = _Pager(client, account, region, deadline=deadline, observe=observe)
    first = await pager.fetch(0)
    pager.keep(first)
    # Advance by what came back, but never by more than was asked: a gateway may clamp Limit
    # (a short first page), or ignore it (a long one).
    step = min(first.size, client.settings.page_size)
    if step and not pager.complete(first.total):
        await pager.rest(step, first.total)
    elif first.total is not None and len(pager.buckets) < first.total:
        pager.kinds.add(TOTAL_AHEAD)  # an empty first page although TotalCount says more
    return pager.listing()
