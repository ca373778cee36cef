"""Decode one ``GetImageBucketList`` page into columns: names, types, image counts, times.

Every JSON object in ``ImageSet`` is a bucket. A page whose entries are all well formed (the
usual case) is checked and taken apart a field at a time with C-level passes (``map``,
``set``, ``min``), without a Python step per entry; any other page goes entry by entry, and a
missing or malformed field becomes None (a type: ``unknown``) with its name noted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from exporter.ucloud._errors import DecodeError
from exporter.ucloud._text import clean

KNOWN_TYPES = frozenset({"private", "public"})
# BucketType as the gateway spells it -> the label value (others are lower-cased first).
_TYPE_LABELS = {t: t for t in KNOWN_TYPES} | {t.capitalize(): t for t in KNOWN_TYPES}
UNKNOWN_TYPE = "unknown"
FIELDS = ("BucketName", "BucketType", "ImageCount", "CreateTime")
_GETTERS = tuple(map(itemgetter, FIELDS))


@dataclass(frozen=True, slots=True)
class Page:
    """One page's buckets as columns (entries that are not JSON objects are left out)."""

    names: list[str | None]
    types: list[str]
    images: list[int | None]
    created: list[int | None]
    bad: list[tuple[str, ...]] | None  # each bucket's malformed fields; None: none anywhere
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


def parse_page(body: Mapping[str, Any]) -> Page:
    """Decode one page; every JSON object in ``ImageSet`` is a bucket."""
    items, total = page_set(body, "ImageSet")
    page = _well_formed(items, total)
    return page if page is not None else _entry_by_entry(items, total)


def _well_formed(items: list[Any], total: int | None) -> Page | None:
    """Return the page if every entry is an object with all four fields well formed."""
    if not items or set(map(type, items)) != {dict}:
        return None
    try:
        names, kinds, images, created = (list(map(get, items)) for get in _GETTERS)
        labels = list(map(_TYPE_LABELS.get, kinds))
    except (KeyError, TypeError):  # a field missing, or a BucketType that cannot be a key
        return None
    # JSON decodes to exact str and int; ``set(map(type, ...))`` leaves bools out.
    if (
        set(map(type, names)) != {str}
        or "" in names
        or None in labels
        or set(map(type, images)) != {int}
        or set(map(type, created)) != {int}
        or min(images) < 0
        or min(created) < 0
    ):
        return None
    if not "".join(names).isascii():
        names = list(map(clean, names))
    return Page(names, labels, images, created, None, len(items), total)  # type: ignore[arg-type]


def _entry_by_entry(items: list[Any], total: int | None) -> Page:
    """Decode each object on its own: a malformed field is None (or ``unknown``)."""
    page = Page([], [], [], [], [], len(items), total)
    for item in items:
        if isinstance(item, dict):
            name, kind, images, created, bad = _entry(*map(item.get, FIELDS))
            page.names.append(name)
            page.types.append(kind)
            page.images.append(images)
            page.created.append(created)
            page.bad.append(bad)  # type: ignore[union-attr]
    return page


def _entry(
    name: Any, kind: Any, images: Any, created: Any
) -> tuple[str | None, str, int | None, int | None, tuple[str, ...]]:
    """Decode one entry's fields; name the malformed ones."""
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
    return None if name is None else clean(name), kind, images, created, tuple(bad)


def count(value: Any) -> int | None:
    """Return ``value`` if it is a non-negative integer (not a bool), else None."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None
