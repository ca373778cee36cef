"""UHub, UCloud's container registry: the read actions GetRepo, GetRepoImage and GetImageTag.

UHub is cross-region: the requests carry no ``Region`` (one sent anyway is ignored, and faults
are matched with region None), otherwise they are shaped, signed, throttled and answered like
every other action (``ProjectId`` optional: it selects the project whose repositories are
listed, none the account's default project). Each pages with ``Offset`` (default 0) and
``Limit`` (default 20) and reports ``TotalCount``; a ``Fault(quirks=...)`` matched by action
shapes the answer (lying or omitted ``TotalCount``, ignored ``Offset``/``Limit``, odd page
sizes, ``omit_zero`` such as ``PullCount`` 0 left out, ``omit_fields``, ``delay_seconds``).

``GetRepo``
    ``Type``: ``private`` (the account's repositories with ``shared`` False) or ``public``
    (``shared`` True, the default). ``RepoSet[]``: ``RepoName``, ``CreateTime``,
    ``UpdateTime``, ``Description``, ``IsShared`` and ``IsOutSide`` (the strings ``"true"`` or
    ``"false"``; ``IsOutSide``: reachable from the internet).
``GetRepoImage``
    ``RepoName`` (required). ``ImageSet[]``: ``ImageName``, ``RepoName``, ``PullCount`` (int),
    ``CreateTime``, ``UpdateTime``, ``LatestTag``.
``GetImageTag``
    ``RepoName`` and ``ImageName`` (required), ``TagName`` (optional: only that tag, so
    ``TotalCount`` 0 or 1). ``TagSet[]``: ``TagName``, ``UpdateTime``, ``Digest``. Tags are
    generated, newest first: :attr:`Image.latest_tag`, then ``v<n>`` counting down (skipping
    the latest tag's own number), with update times spread evenly from the image's update time
    back to its create time and ``Digest`` ``sha256:`` + the SHA-256 of ``repo/image:tag``.

Times (``CreateTime``, ``UpdateTime``): the format is undocumented, so each account picks one
(:attr:`Account.uhub_time_format`, see :func:`uhub_time`): ``unix`` (a JSON number of Unix
seconds, ``1700000000``), ``unix_string`` (``"1700000000"``), ``rfc3339``
(``"2023-11-15T06:13:20+08:00"``) or ``datetime`` (the default, ``"2023-11-15 06:13:20"`` in
China Standard Time, UTC+08:00, UCloud's home zone). All four write the same instant.

Errors (beyond the gateway's authentication, RetCodes 160-299): RetCode 230 ``Missing params
[RepoName]`` (or ``[ImageName]``), ``Params [Type] not valid``, ``Params [Offset] not valid``,
``Params [Limit] not valid``; RetCode 231 (:data:`NOT_FOUND`, this simulator's choice: the real
code is undocumented; below 2000 so SDKs do not retry it) ``Repo [name] not exist`` and
``Image [name] not exist in repo [repo]``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone

from exporter.simulator.model import NO_QUIRKS, Account, Fleet, Image, Quirks, Repo
from exporter.simulator.paging import Response, error, listed, paging, take, window

__all__ = ["CST", "NOT_FOUND", "UHUB_ACTIONS", "answer_uhub", "tag_name", "uhub_time"]

UHUB_ACTIONS = ("GetRepo", "GetRepoImage", "GetImageTag")
#: RetCode for an unknown repository or image (the simulator's choice; see the docstring).
NOT_FOUND = 231
#: China Standard Time, the zone of UHub's ``datetime`` and ``rfc3339`` times.
CST = timezone(timedelta(hours=8), "CST")

_REQUIRED = {"GetRepo": (), "GetRepoImage": ("RepoName",), "GetImageTag": ("RepoName", "ImageName")}
_TYPES = {"private": False, "public": True}
_VERSION = re.compile(r"v([1-9][0-9]*)")


def uhub_time(seconds: int, time_format: str) -> int | str:
    """Write Unix ``seconds`` the way ``time_format`` (one of ``UHUB_TIME_FORMATS``) says."""
    if time_format == "unix":
        return seconds
    if time_format == "unix_string":
        return str(seconds)
    moment = datetime.fromtimestamp(seconds, CST)
    if time_format == "rfc3339":
        return moment.isoformat()
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def tag_name(image: Image, index: int) -> str:
    """Name the ``index``-th tag of ``image`` (0 the newest, ``latest_tag``; then ``v<n>``)."""
    if index == 0:
        return image.latest_tag
    own = _version(image.latest_tag)
    if own is None or not 1 <= own <= image.tags:
        return f"v{image.tags - index}"  # v<tags-1> down to v1
    number = image.tags - index + 1  # v<tags> down to v1 without the latest tag's own number
    return f"v{number - 1 if number <= own else number}"


def answer_uhub(
    fleet: Fleet,
    account: Account,
    params: Mapping[str, str],
    *,
    limit_clamp: int | None = None,
    quirks: Quirks | None = None,
) -> Response:
    """Answer an authenticated request for one of ``UHUB_ACTIONS``, shaped by ``quirks``."""
    action = params["Action"]
    missing = [name for name in _REQUIRED[action] if not params.get(name)]
    if missing:
        return error(action, 230, f"Missing params [{missing[0]}]")
    if action == "GetRepo" and (params.get("Type") or "public") not in _TYPES:
        return error(action, 230, "Params [Type] not valid")
    page = paging(action, params, limit_clamp=limit_clamp)
    if not isinstance(page, tuple):
        return page
    quirks = quirks or NO_QUIRKS
    with fleet.locked(account.public_key) as live:
        repos = live.project(params.get("ProjectId")).repos
        found = _listing(repos, live.uhub_time_format, params, *window(quirks, *page))
    return found if isinstance(found, dict) else listed(action, *found, quirks)


def _listing(
    repos: list[Repo], fmt: str, params: Mapping[str, str], start: int, count: int | None
) -> tuple[str, int, list[dict[str, object]]] | Response:
    """Return (set name, TotalCount, one page of items) of a valid request for one project's
    ``repos`` (times written in ``fmt``), or an error."""
    action = params["Action"]
    if action == "GetRepo":
        wanted = _TYPES[params.get("Type") or "public"]
        listed = [r for r in repos if r.shared == wanted]
        return "RepoSet", len(listed), [_repo_item(r, fmt) for r in take(listed, start, count)]
    repo = next((r for r in repos if r.name == params["RepoName"]), None)
    if repo is None:
        return error(action, NOT_FOUND, f"Repo [{params['RepoName']}] not exist")
    if action == "GetRepoImage":
        page = take(repo.images, start, count)
        return "ImageSet", len(repo.images), [_image_item(repo, i, fmt) for i in page]
    image = repo.image(params["ImageName"])
    if image is None:
        message = f"Image [{params['ImageName']}] not exist in repo [{repo.name}]"
        return error(action, NOT_FOUND, message)
    tags = _tag_indexes(image, params.get("TagName", ""))
    return "TagSet", len(tags), [_tag_item(repo, image, k, fmt) for k in take(tags, start, count)]


def _repo_item(repo: Repo, fmt: str) -> dict[str, object]:
    """Render a ``RepoSet`` item."""
    return {
        "RepoName": repo.name,
        "CreateTime": uhub_time(repo.create_time, fmt),
        "UpdateTime": uhub_time(repo.update_time, fmt),
        "Description": repo.description,
        "IsShared": "true" if repo.shared else "false",
        "IsOutSide": "true" if repo.outside else "false",
    }


def _image_item(repo: Repo, image: Image, fmt: str) -> dict[str, object]:
    """Render an ``ImageSet`` item."""
    return {
        "ImageName": image.name,
        "RepoName": repo.name,
        "PullCount": image.pull_count,
        "CreateTime": uhub_time(image.create_time, fmt),
        "UpdateTime": uhub_time(image.update_time, fmt),
        "LatestTag": image.latest_tag,
    }


def _tag_indexes(image: Image, wanted: str) -> Sequence[int]:
    """Return the indexes of the tags listed: all of them, or only the one named ``wanted``."""
    if not wanted:
        return range(image.tags)
    if image.tags and wanted == image.latest_tag:
        return [0]
    number = _version(wanted)
    if number is None:
        return []
    guesses = (image.tags - number, image.tags - number + 1)  # tag_name() inverted
    return [k for k in guesses if 0 < k < image.tags and tag_name(image, k) == wanted][:1]


def _tag_item(repo: Repo, image: Image, index: int, fmt: str) -> dict[str, object]:
    """Render the ``index``-th tag of ``image`` as a ``TagSet`` item."""
    name = tag_name(image, index)
    span = max(0, image.update_time - image.create_time)
    updated = image.update_time - span * index // max(1, image.tags - 1)
    text = f"{repo.name}/{image.name}:{name}".encode("utf-8", "surrogatepass")
    digest = hashlib.sha256(text).hexdigest()
    return {"TagName": name, "UpdateTime": uhub_time(updated, fmt), "Digest": f"sha256:{digest}"}


def _version(tag: str) -> int | None:
    """Return n for a tag called ``v<n>``, else None."""
    match = _VERSION.fullmatch(tag)
    return None if match is None else int(match[1])
