"""UGC ``GetDockerImageList``: the Docker images inside one image bucket.

``Region`` and ``BucketName`` are required; pages of ``Offset``/``Limit`` (``page_size``,
capped at ``MAX_LIMIT``) are walked with the pager UHub uses (``_paging``): a lying
``TotalCount``, an ignored ``Offset``, clamped or oversized pages end a listing without failing
it and are reported in ``DockerImages.inconsistencies``. An image's name is ``BucketName`` (the
reference's field) or ``ImageName`` (its sample's), whichever is present. Of its tags only the
count and the newest and oldest ``CreateTime`` are kept, never a tag itself. At most
``MAX_IMAGES`` images per bucket are kept (the first in listing order); ``truncated`` says so.
An entry without a usable name (absent, empty, longer than ``MAX_NAME_CHARS``) is dropped and
counted in ``invalid["BucketName"]``; a malformed ``TagSet``, tag ``CreateTime``
(``TagSet.CreateTime``, per tag) or ``UpdateTime`` drops only that value.

RetCode 43023 ``BucketNotExistError`` (the bucket was deleted between ``GetImageBucketList``
and this call) is no error: the result is ``DockerImages.gone`` (no images).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from exporter.config import Account
from exporter.ucloud._auth import ParamValue
from exporter.ucloud._client import Observer, UCloudClient
from exporter.ucloud._errors import APIError
from exporter.ucloud._paging import Found, Pager, name_of
from exporter.ucloud._times import parse_time

ACTION = "GetDockerImageList"
#: UGC's RetCode for a bucket that does not exist (``ugc-api/error_code.md``).
BUCKET_NOT_EXIST = 43023
#: The largest ``Limit`` sent. No maximum is documented (default 20); 100 is the largest most
#: UCloud listings document, so a gateway is not asked for more than it is known to give.
MAX_LIMIT = 100
#: Images kept per bucket and refresh: the first in listing order, the rest dropped.
MAX_IMAGES = 10_000
#: Characters of an image name (a label value); a longer name makes the entry invalid.
MAX_NAME_CHARS = 1_024
NAME_FIELDS = ("BucketName", "ImageName")


@dataclass(frozen=True, slots=True)
class DockerImage:
    """One image of a bucket: its name, tag count and times (Unix seconds; None: unknown)."""

    name: str
    tags: int | None  # entries of TagSet; None when TagSet is missing or not a list
    newest_tag: int | None  # the latest CreateTime among its tags (None: no readable one)
    oldest_tag: int | None  # the earliest
    updated: int | None  # UpdateTime


@dataclass(frozen=True, slots=True)
class DockerImages(Found[DockerImage]):
    """One bucket's images as one listing saw them (``truncated``: more than MAX_IMAGES)."""

    gone: bool = False  # RetCode 43023: the bucket no longer exists (no images, no error)


def _name(item: Mapping[str, Any]) -> str | None:
    for key in NAME_FIELDS:
        name = name_of(item.get(key))
        if name is not None:
            return name if len(name) <= MAX_NAME_CHARS else None
    return None


def _image(run: Pager, name: str, item: Mapping[str, Any]) -> DockerImage:
    """Read one entry: its tags reduced to count, newest and oldest at once."""
    tags, times = item.get("TagSet"), []
    if isinstance(tags, list):
        for tag in tags:
            when = parse_time(tag.get("CreateTime")) if isinstance(tag, dict) else None
            if when is None:
                run.invalid["TagSet.CreateTime"] += 1
            else:
                times.append(when)
        count: int | None = len(tags)
    else:
        run.invalid["TagSet"] += 1
        count = None
    newest, oldest = (max(times), min(times)) if times else (None, None)
    return DockerImage(name, count, newest, oldest, run.value(item, "UpdateTime", parse_time))


async def list_docker_images(
    client: UCloudClient,
    account: Account,
    region: str,
    bucket: str,
    *,
    project: str | None,
    deadline: float,
    observe: Observer,
) -> DockerImages:
    """Return the Docker images of ``bucket`` in ``region``, in project ``project`` (None: the
    account's ``project_id``; "": no ``ProjectId``); ``DockerImages.gone`` for 43023."""
    project = account.project_id if project is None else project
    run = Pager(client, account, deadline, observe, project)
    params: dict[str, ParamValue] = {"Action": ACTION, "Region": region, "BucketName": bucket}
    limit = min(client.settings.page_size, MAX_LIMIT)
    try:
        kept, cut = await run.collect(
            params, "BucketName", partial(_image, run), cap=MAX_IMAGES, limit=limit, named=_name
        )
    except APIError as exc:
        if exc.code != BUCKET_NOT_EXIST:
            raise
        return DockerImages((), {}, frozenset(), run.requests, gone=True)
    return DockerImages(tuple(kept), run.invalid_counts(), frozenset(run.kinds), run.requests, cut)
