"""UHost ``DescribeImage`` with ``ImageType=Custom``: one region's custom (machine) images.

Paged with the pager UHub uses (``_paging``), as the bucket listing is bounded: a lying
``TotalCount``, an ignored ``Offset``, clamped or oversized pages end a listing without failing
it (``HostImages.inconsistencies``); at most ``MAX_IMAGES`` images are kept (``truncated``).
Images are keyed by ``ImageId``: an entry without one is dropped and counted invalid. A field
that is missing or malformed drops only its value (``HostImages.invalid``).

``ImageSize``'s unit is documented nowhere (reference and SDKs: "image size", an int): it is
read as GB, the unit of UHost's disk sizes, like the simulator does (``GIB``: an assumption).
``MaintainEol`` (``YYYY/MM/DD``) is midnight UTC+08:00 of that date; "" (or absent) is unknown,
anything else malformed (counted invalid); either way the image has no end-of-life time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from exporter.config import Account
from exporter.ucloud._auth import ParamValue
from exporter.ucloud._client import Observer, UCloudClient
from exporter.ucloud._page import count
from exporter.ucloud._paging import Found, Pager
from exporter.ucloud._text import clean
from exporter.ucloud._times import ASSUMED_ZONE, parse_time

ACTION = "DescribeImage"
#: The largest ``Limit`` sent (DescribeImage's reference gives a default of 20, no maximum;
#: 100 is the largest UHost's listings document).
MAX_LIMIT = 100
#: Images kept per region and refresh: custom-image quotas are tens per region, so more is a
#: hostile gateway; the first in listing order are kept.
MAX_IMAGES = 10_000
#: Characters of a text field kept (names are label values); the rest is dropped.
MAX_TEXT_CHARS = 256
#: Bytes in one unit of ``ImageSize``. ASSUMPTION: no source states the unit; GB as UHost's
#: disk sizes use (binary, as cloud disks are sized), the simulator's reading too.
GIB = 1024**3
#: ``State`` values DescribeImage documents; any other is reported as ``UNKNOWN_STATE``.
STATES = frozenset({"Available", "Making", "Unavailable", "Copying"})
UNKNOWN_STATE = "unknown"
_EOL = re.compile(r"([0-9]{4})/([0-9]{2})/([0-9]{2})")


@dataclass(frozen=True, slots=True)
class HostImage:
    """One custom host image; a value missing or malformed is None (times: Unix seconds)."""

    id: str  # ImageId
    name: str | None  # ImageName
    os_name: str | None  # OsName
    os_type: str | None  # OsType (Linux, Windows)
    state: str  # State, or "unknown"
    created: int | None  # CreateTime
    size_bytes: int | None  # ImageSize (GB, assumed) in bytes
    eol: int | None  # MaintainEol, midnight UTC+08:00; None when empty or malformed
    zone: str | None  # Zone


@dataclass(frozen=True, slots=True)
class HostImages(Found[HostImage]):
    """One region's custom images as one listing saw them (``truncated``: more than
    MAX_IMAGES)."""


def parse_eol(value: str) -> int | None:
    """Return ``YYYY/MM/DD`` as Unix seconds of that day's midnight UTC+08:00, else None."""
    match = _EOL.fullmatch(value.strip())
    if match is None:
        return None
    try:
        year, month, day = map(int, match.groups())
        midnight = datetime(year, month, day, tzinfo=ASSUMED_ZONE)
    except ValueError:  # month 13, February 30, year 0
        return None
    return int(midnight.timestamp())


def _text(value: Any) -> str | None:
    return clean(value[:MAX_TEXT_CHARS]) if isinstance(value, str) and value else None


def _size(value: Any) -> int | None:
    size = count(value)
    return None if size is None else size * GIB


def _state(value: Any) -> str | None:
    return value if isinstance(value, str) and value in STATES else None


def _image(run: Pager, image_id: str, item: Mapping[str, Any]) -> HostImage:
    eol = item.get("MaintainEol")
    when = parse_eol(eol) if isinstance(eol, str) else None
    if when is None and eol not in (None, ""):  # "" or absent: unknown, as UCloud writes it
        run.invalid["MaintainEol"] += 1
    return HostImage(
        id=image_id,
        name=run.value(item, "ImageName", _text),
        os_name=run.value(item, "OsName", _text),
        os_type=run.value(item, "OsType", _text),
        state=run.value(item, "State", _state) or UNKNOWN_STATE,
        created=run.value(item, "CreateTime", parse_time),
        size_bytes=run.value(item, "ImageSize", _size),
        eol=when,
        zone=run.value(item, "Zone", _text),
    )


def _id(item: Mapping[str, Any]) -> str | None:
    value = item.get("ImageId")
    if isinstance(value, str) and value and len(value) <= MAX_TEXT_CHARS:
        return clean(value)
    return None


async def list_host_images(
    client: UCloudClient,
    account: Account,
    region: str,
    *,
    project: str | None,
    deadline: float,
    observe: Observer,
) -> HostImages:
    """Return the custom host images of ``account`` in ``region``, in project ``project``
    (None: the account's ``project_id``; "": no ``ProjectId``)."""
    project = account.project_id if project is None else project
    run = Pager(client, account, deadline, observe, project)
    params: dict[str, ParamValue] = {"Action": ACTION, "Region": region, "ImageType": "Custom"}
    limit = min(client.settings.page_size, MAX_LIMIT)
    kept, cut = await run.collect(
        params, "ImageId", partial(_image, run), cap=MAX_IMAGES, limit=limit, named=_id
    )
    return HostImages(tuple(kept), run.invalid_counts(), frozenset(run.kinds), run.requests, cut)
