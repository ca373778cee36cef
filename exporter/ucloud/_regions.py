"""UAccount ``GetRegion``: the regions an account may use (one entry per zone)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from exporter.config import Account
from exporter.ucloud._auth import ParamValue
from exporter.ucloud._client import Observer, UCloudClient
from exporter.ucloud._errors import DecodeError

ACTION = "GetRegion"


def parse_regions(body: Mapping[str, Any]) -> tuple[str, ...]:
    """Return the distinct ``Region`` ids of a GetRegion answer, in first-seen order."""
    entries = body.get("Regions")
    if not isinstance(entries, list):
        raise DecodeError(f"Regions is a JSON {type(entries).__name__}, not an array")
    regions = [e.get("Region") for e in entries if isinstance(e, dict)]
    if not all(isinstance(r, str) and r for r in regions):
        raise DecodeError("a Regions entry has no Region id")
    return tuple(dict.fromkeys(str(r) for r in regions))


async def get_regions(
    client: UCloudClient, account: Account, *, deadline: float, observe: Observer
) -> tuple[str, ...]:
    """Return the regions ``account`` may use."""
    params: dict[str, ParamValue] = {"Action": ACTION}
    if account.project_id:
        params["ProjectId"] = account.project_id
    return await client.call(
        account, params, deadline=deadline, observe=observe, parse=parse_regions
    )
