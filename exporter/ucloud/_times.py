"""Read UHub's time fields, whose format UCloud does not document.

Accepted, anything else is None (an invalid field, never an error):

- Unix seconds as a JSON number or a numeric string: ``1700000000``, ``"1700000000"``,
  ``"1700000000.5"`` (fractions are dropped);
- RFC 3339: ``"2023-11-14T22:13:20+08:00"``, ``"2023-11-14T14:13:20Z"`` (fractions allowed;
  a space may replace the ``T``);
- ``"YYYY-MM-DD HH:MM:SS"`` without a zone, read as China Standard Time (UTC+08:00), the zone
  of UCloud's consoles and API examples: ``"2023-11-15 06:13:20"`` is 1700000000.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone
from typing import Any

#: The zone assumed for times written without one.
ASSUMED_ZONE = timezone(timedelta(hours=8), "UTC+08:00")
_UNIX = re.compile(r"[0-9]{1,12}")
_FRACTION = re.compile(r"[0-9]{1,12}\.[0-9]{1,9}")
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_LOCAL = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")
_MAX_SECONDS = 253402300799  # 9999-12-31T23:59:59Z


def parse_time(value: Any) -> int | None:
    """Return ``value`` as whole Unix seconds, or None when it is none of the accepted forms."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    if isinstance(value, float) or (isinstance(value, str) and _FRACTION.fullmatch(value.strip())):
        return _seconds(float(value))
    if isinstance(value, int) or _UNIX.fullmatch(value.strip()):
        return _whole(int(value))
    text = value.strip()
    if _RFC3339.fullmatch(text):
        return _from_iso(text[:10] + "T" + text[11:].upper().replace("Z", "+00:00"))
    if _LOCAL.fullmatch(text):
        return _from_iso(text.replace(" ", "T"), zone=ASSUMED_ZONE)
    return None


def _whole(value: int) -> int | None:
    return value if 0 <= value <= _MAX_SECONDS else None


def _seconds(value: float) -> int | None:
    return _whole(int(value)) if math.isfinite(value) and value >= 0 else None


def _from_iso(text: str, *, zone: timezone | None = None) -> int | None:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:  # e.g. month 13, or an hour of 24
        return None
    if zone is not None:
        when = when.replace(tzinfo=zone)
    try:
        return _seconds(when.timestamp())
    except (OverflowError, ValueError):
        return None
