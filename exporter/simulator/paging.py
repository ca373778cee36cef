"""What every listing action shares: error responses, Offset/Limit and the ``Quirks`` of a page.

GetImageBucketList and the UHub actions (GetRepo, GetRepoImage, GetImageTag) all page the same
way: ``Offset`` (default 0) and ``Limit`` (default 20, no documented maximum; the simulator's
``limit_clamp`` caps it), a malformed one answered RetCode 230. :func:`window` turns them into
the slice a page holds under :class:`~exporter.simulator.model.Quirks`, :func:`listed` builds
the success response (``TotalCount`` as the quirks say, fields left out as they say).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from exporter.simulator.model import Quirks

__all__ = ["DEFAULT_LIMIT", "Response", "error", "listed", "omit", "paging", "take", "window"]

Response = dict[str, Any]
T = TypeVar("T")

DEFAULT_LIMIT = 20


def error(action: str, retcode: int, message: str) -> Response:
    """Build a gateway error response."""
    return {"RetCode": retcode, "Action": f"{action}Response", "Message": message}


def paging(
    action: str, params: Mapping[str, str], *, limit_clamp: int | None = None
) -> tuple[int, int] | Response:
    """Parse ``Offset`` and ``Limit`` (capped at ``limit_clamp``), or answer RetCode 230."""
    offset = _count(params.get("Offset"), default=0)
    if offset is None:
        return error(action, 230, "Params [Offset] not valid")
    limit = _count(params.get("Limit"), default=DEFAULT_LIMIT)
    if limit is None:
        return error(action, 230, "Params [Limit] not valid")
    if limit_clamp is not None:
        limit = min(limit, limit_clamp)
    return offset, limit


def window(quirks: Quirks, offset: int, limit: int) -> tuple[int, int | None]:
    """Return where a page starts and how many entries it holds (None: to the end)."""
    start = 0 if quirks.ignore_offset else offset
    if quirks.ignore_limit:
        return start, None
    return start, limit if quirks.page_entries is None else quirks.page_entries


def take(items: Sequence[T], start: int, count: int | None) -> Sequence[T]:
    """Slice one page out of ``items`` (a list, or a range for generated entries)."""
    return items[start : None if count is None else start + count]


def listed(
    action: str, key: str, total: int, items: list[dict[str, object]], quirks: Quirks
) -> Response:
    """Build a successful listing response with ``items`` under ``key``, shaped by ``quirks``."""
    response: Response = {"RetCode": 0, "Action": f"{action}Response", key: items}
    if not quirks.omit_total:
        response["TotalCount"] = total if quirks.total_count is None else quirks.total_count
    omit(items, quirks)
    return response


def omit(items: list[dict[str, object]], quirks: Quirks) -> None:
    """Leave out of ``items`` the fields ``quirks`` say to (``omit_zero``, ``omit_fields``)."""
    if quirks.omit_zero or quirks.omit_fields:
        for item in items:
            for name in [n for n, v in item.items() if _omitted(quirks, n, v)]:
                del item[name]


def _omitted(quirks: Quirks, name: str, value: object) -> bool:
    """Tell whether ``quirks`` leave a field out (``omit_zero``: numbers 0, not False)."""
    zero = value == 0 and not isinstance(value, bool)
    return (quirks.omit_zero and zero) or name in quirks.omit_fields


def _count(raw: str | None, *, default: int) -> int | None:
    """Parse a non-negative decimal parameter; None when it is malformed."""
    if raw is None or raw == "":
        return default
    if raw.isascii() and raw.isdigit():
        return int(raw)
    return None
