"""Page through one paged UCloud listing, one page after another: what UHub's listings and the
image actions (``GetDockerImageList``, ``DescribeImage``) share.

The gateway is trusted as far as the bucket listing (``_listing``) trusts it: a listing ends
at an empty page, a page shorter than the first one (a gateway may clamp ``Limit``), a page of
names already seen (``Offset`` ignored) or once ``TotalCount`` entries arrived; a lying
``TotalCount`` never fails it. What was odd is noted in ``Pager.kinds``, a missing or
malformed field in ``Pager.invalid``; the pages asked for are bounded (``MAX_PAGES`` beyond
what ``cap`` entries need), so a gateway that never ends a listing costs a ``PagingError``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from exporter.config import Account
from exporter.ucloud._auth import ParamValue
from exporter.ucloud._client import Observer, UCloudClient
from exporter.ucloud._errors import PagingError
from exporter.ucloud._listing import NOT_AN_OBJECT, OVERSIZED_PAGE, REPEATED_PAGE, TOTAL_AHEAD
from exporter.ucloud._page import page_set
from exporter.ucloud._text import clean

T = TypeVar("T")
#: Pages of one listing beyond those its ``cap`` needs: more is a paging loop.
MAX_PAGES = 1_000

#: One page's new entries: (name, or None when it has none; the JSON object).
Entries = list[tuple[str | None, Mapping[str, Any]]]


@dataclass(frozen=True, slots=True)
class Found(Generic[T]):
    """What one capped ``ImageSet`` listing (``Pager.collect``) kept, and saw on the way."""

    images: tuple[T, ...]
    invalid: Mapping[str, int]  # API field name -> entries where it was missing or malformed
    inconsistencies: frozenset[str]
    requests: int
    truncated: bool = False  # more than the cap: only the first are kept


@dataclass(frozen=True, slots=True)
class SetPage:
    """One page: the JSON objects of its set, how many entries it had, its ``TotalCount``."""

    items: list[Mapping[str, Any]]  # the JSON objects of the set
    size: int  # entries, objects or not
    total: int | None


def set_page(key: str) -> Callable[[Mapping[str, Any]], SetPage]:
    """Return the parser of a page whose entries are under ``key``."""

    def parse(body: Mapping[str, Any]) -> SetPage:
        items, total = page_set(body, key)
        return SetPage([i for i in items if isinstance(i, dict)], len(items), total)

    return parse


def name_of(value: Any) -> str | None:
    """Return a non-empty string ``value`` cleaned (``_text.clean``), else None."""
    return clean(value) if isinstance(value, str) and value else None


@dataclass
class Pager:
    """State of one refresh: requests spent, malformed fields and oddities seen."""

    client: UCloudClient
    account: Account
    deadline: float
    observe: Observer
    project: str | None
    requests: int = 0
    invalid: Counter[str] = field(default_factory=Counter)
    kinds: set[str] = field(default_factory=set)

    async def call(self, params: Mapping[str, ParamValue], key: str) -> SetPage:
        """Send one page request (with ``ProjectId`` when a project is set)."""
        self.requests += 1
        if self.project:
            params = {**params, "ProjectId": self.project}
        return await self.client.call(
            self.account, params, deadline=self.deadline, observe=self.observe, parse=set_page(key)
        )

    async def listing(
        self,
        params: Mapping[str, ParamValue],
        key: str,
        name_field: str,
        keep: Callable[[Entries], bool],
        *,
        cap: int,
        limit: int | None = None,
        named: Callable[[Mapping[str, Any]], str | None] | None = None,
    ) -> tuple[int, int | None, bool]:
        """Page through one listing, handing each page's new objects (named, de-duplicated
        by name) to ``keep``, which returns False to stop there.

        Returns (entries listed, TotalCount of the first page, whether ``keep`` cut it short).
        ``cap``: the most entries ``keep`` takes; with ``MAX_PAGES`` it bounds the pages.
        ``limit``: the page size asked for (default ``page_size``); ``named``: an entry's name
        (default its ``name_field``, a non-empty string); an entry without one counts as
        invalid under ``name_field``.
        """
        limit = limit or self.client.settings.page_size
        name = named or (lambda item: name_of(item.get(name_field)))
        entries = 0
        seen: set[str] = set()
        offset, step, total = 0, limit, None
        pages = MAX_PAGES + -(-cap // limit)
        for _ in range(pages):
            page = await self.call({**params, "Offset": offset, "Limit": limit}, key)
            total = page.total if offset == 0 else total
            step = min(page.size, limit) if offset == 0 else step
            if page.size > limit:
                self.kinds.add(OVERSIZED_PAGE)
            fresh: Entries = []
            for item in page.items:  # new names only, duplicates within the page too
                found = name(item)
                if found is None:
                    fresh.append((found, item))
                elif found not in seen:
                    seen.add(found)
                    fresh.append((found, item))
            if page.items and not fresh:
                self.kinds.add(REPEATED_PAGE)
                return entries, total, False
            entries += len(fresh)
            self.invalid[name_field] += sum(n is None for n, _ in fresh)
            self.invalid[NOT_AN_OBJECT] += page.size - len(page.items)
            wanted = keep(fresh)
            offset += step
            done = total is not None and entries >= total
            if page.size == 0 or page.size < step or done:
                if total is not None and entries < total:
                    self.kinds.add(TOTAL_AHEAD)
                return entries, total, False
            if not wanted:
                return entries, total, True
        raise PagingError(f"gave up after {pages} pages of {params['Action']}")

    async def collect(
        self,
        params: Mapping[str, ParamValue],
        name_field: str,
        read: Callable[[str, Mapping[str, Any]], T],
        *,
        cap: int,
        limit: int,
        named: Callable[[Mapping[str, Any]], str | None],
    ) -> tuple[list[T], bool]:
        """List ``ImageSet`` and ``read`` the first ``cap`` named entries; return them and
        whether more were there (the rest are not read, the pages after not asked for)."""
        kept: list[T] = []
        cut = False

        def keep(page: Entries) -> bool:
            nonlocal cut
            for name, item in page:
                if name is None:
                    continue
                if len(kept) >= cap:
                    cut = True
                    break
                kept.append(read(name, item))
            return len(kept) < cap

        _, _, stopped = await self.listing(
            params, "ImageSet", name_field, keep, cap=cap, limit=limit, named=named
        )
        return kept, cut or stopped

    def value(self, item: Mapping[str, Any], key: str, read: Callable[[Any], Any]) -> Any:
        """Return ``read(item[key])``; None (and ``key`` counted invalid) when it is missing or
        malformed."""
        found = read(item.get(key))
        if found is None:
            self.invalid[key] += 1
        return found

    def invalid_counts(self) -> dict[str, int]:
        """Return the fields found missing or malformed, with how many entries each."""
        return {k: n for k, n in self.invalid.items() if n}
