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
from exporter.ucloud._errors import ListingTooLarge, PagingError
from exporter.ucloud._page import Page, parse_page

ACTION = "GetImageBucketList"
# A listing that needs more requests than this is treated as a paging loop.
MAX_REQUESTS_PER_LISTING = 20_000
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
        project: str | None,
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
        if project:
            self._params["ProjectId"] = project
        self.requests = 0
        self.names: list[str | None] = []
        self.types: list[str] = []
        self.images: list[int | None] = []
        self.created: list[int | None] = []
        self.invalid: Counter[str] = Counter()
        self.kinds: set[str] = set()
        self._seen: set[str] = set()

    async def fetch(self, offset: int) -> Page:
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

    def keep(self, page: Page) -> bool:
        """Keep the page's buckets not seen before; False if it had buckets, all seen."""
        names, seen = page.names, self._seen
        if page.bad is None and len(set(names)) == len(names) and seen.isdisjoint(names):
            fresh = len(names)  # the usual page: every bucket named, well formed and new
            seen.update(names)  # type: ignore[arg-type]
            self.names += names
            self.types += page.types
            self.images += page.images
            self.created += page.created
        else:
            fresh = self._keep_each(page)
        if fresh:
            self.invalid[NOT_AN_OBJECT] += page.size - len(names)
        cap = self._client.settings.max_buckets_per_listing
        if len(self.names) > cap:
            raise ListingTooLarge(
                f"more than {cap} buckets in one listing (ucloud.max_buckets_per_listing)"
            )
        return fresh > 0 or not names

    def _keep_each(self, page: Page) -> int:
        """Keep the page's buckets one by one; return how many were new."""
        fresh = 0
        bad = page.bad or [()] * len(page.names)
        for i, name in enumerate(page.names):
            if name is not None:
                if name in self._seen:
                    continue
                self._seen.add(name)
            fresh += 1
            self.names.append(name)
            self.types.append(page.types[i])
            self.images.append(page.images[i])
            self.created.append(page.created[i])
            self.invalid.update(bad[i])
        return fresh

    def complete(self, total: int | None) -> bool:
        """Return whether everything TotalCount promises is here."""
        return total is not None and len(self.names) >= total

    async def rest(self, step: int, total: int | None) -> None:
        """Fetch the pages after the first, ``step`` apart, a bounded window at a time."""
        window = self._client.settings.max_concurrent_requests if total is not None else 1
        pending: deque[tuple[int, asyncio.Task[Page]]] = deque()
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
            buckets=Buckets.from_columns(self.names, self.types, self.images, self.created),
            invalid={k: n for k, n in self.invalid.items() if n},
            inconsistencies=frozenset(self.kinds),
            requests=self.requests,
        )


def _task(coro: Any) -> asyncio.Task[Page]:
    """Start ``coro``; an error it raises after being cancelled is not reported twice."""
    task: asyncio.Task[Page] = asyncio.ensure_future(coro)
    task.add_done_callback(lambda t: t.cancelled() or t.exception())
    return task


async def list_image_buckets(
    client: UCloudClient,
    account: Account,
    region: str,
    *,
    deadline: float,
    observe: Observer,
    project: str | None = None,
) -> Listing:
    """Return every image bucket of ``account`` in ``region``, in project ``project`` (None: the
    account's ``project_id``; "": no ``ProjectId``, the key's default project)."""
    project = account.project_id if project is None else project
    pager = _Pager(client, account, region, deadline=deadline, observe=observe, project=project)
    first = await pager.fetch(0)
    pager.keep(first)
    # Advance by what came back, but never by more than was asked: a gateway may clamp Limit
    # (a short first page), or ignore it (a long one).
    step = min(first.size, client.settings.page_size)
    if step and not pager.complete(first.total):
        await pager.rest(step, first.total)
    elif first.total is not None and len(pager.names) < first.total:
        pager.kinds.add(TOTAL_AHEAD)  # an empty first page although TotalCount says more
    return pager.listing()
