"""Gateway logic independent of HTTP: authentication, then the two supported actions."""

from __future__ import annotations

import random
import zlib
from collections.abc import Iterator, Mapping
from typing import Any

from exporter.simulator.fleet import REGION_IDS
from exporter.simulator.model import Account, Fleet, Quirks
from exporter.simulator.signing import verify

__all__ = ["ACTIONS", "Response", "authenticate", "dispatch", "error"]

Response = dict[str, Any]

ACTIONS = ("GetImageBucketList", "GetRegion")
_BUCKET_TYPES: dict[str, bool | None] = {"All": None, "User": False, "Share": True}
_REGION_NAMES = {
    "cn-bj1": "北京一", "cn-bj2": "北京二", "cn-sh2": "上海二", "cn-gd": "广州", "hk": "香港",
    "sg": "新加坡", "us-ca": "洛杉矶", "jpn-tky": "东京", "ge-fra": "法兰克福",
}  # fmt: skip


def error(action: str, retcode: int, message: str) -> Response:
    """Build a gateway error response."""
    return {"RetCode": retcode, "Action": f"{action}Response", "Message": message}


def authenticate(fleet: Fleet, params: Mapping[str, str]) -> Account | Response:
    """Run the gateway's checks in its order; return the account or an error response."""
    action = params.get("Action", "")
    account = fleet.account(params.get("PublicKey", ""))
    problem = next(_problems(action, account, params), None)
    if problem is not None or account is None:
        retcode, message = problem or (172, "user not exist")
        return error(action, retcode, message)
    return account


def _problems(
    action: str, account: Account | None, params: Mapping[str, str]
) -> Iterator[tuple[int, str]]:
    """Yield what is wrong with a request, most fundamental first."""
    if not action:
        yield 160, "Missing Action"
    if not params.get("Signature"):
        yield 170, "Missing Signature"
    if account is None:
        yield 172, "user not exist"
        return
    if not verify(params, account.private_key):
        yield 171, "signature error"
    project = params.get("ProjectId", "")
    if project and project not in account.projects:
        yield 292, "project not exist"
    if action not in ACTIONS:
        yield 161, f"Action [{action}] not exist"


def dispatch(
    fleet: Fleet,
    account: Account,
    params: Mapping[str, str],
    *,
    limit_clamp: int | None = None,
    drift_rng: random.Random | None = None,
    quirks: Quirks | None = None,
) -> Response:
    """Answer an authenticated request for one of ``ACTIONS``."""
    if params["Action"] == "GetRegion":
        return get_region(fleet, account)
    return get_image_bucket_list(
        fleet, account, params, limit_clamp=limit_clamp, drift_rng=drift_rng, quirks=quirks
    )


def get_image_bucket_list(
    fleet: Fleet,
    account: Account,
    params: Mapping[str, str],
    *,
    limit_clamp: int | None = None,
    drift_rng: random.Random | None = None,
    quirks: Quirks | None = None,
) -> Response:
    """List one region's buckets with the documented filters and paging.

    ``quirks`` (the region's own from the fleet by default) make the answer odd but possible.
    """
    action = "GetImageBucketList"
    region = params.get("Region", "")
    if not region:
        return error(action, 230, "Missing params [Region]")
    bucket_type = params.get("BucketType") or "All"
    if bucket_type not in _BUCKET_TYPES:
        return error(action, 230, "Params [BucketType] not valid")
    offset = _count(params.get("Offset"), default=0)
    if offset is None:
        return error(action, 230, "Params [Offset] not valid")
    limit = _count(params.get("Limit"), default=20)
    if limit is None:
        return error(action, 230, "Params [Limit] not valid")
    if limit_clamp is not None:
        limit = min(limit, limit_clamp)
    if drift_rng is not None and offset == 0:
        fleet.drift(drift_rng)
    quirks = quirks or fleet.quirks(account.public_key, region)
    total, items = fleet.query(
        account.public_key,
        region,
        name=params.get("BucketName", ""),
        shared=_BUCKET_TYPES[bucket_type],
        offset=0 if quirks.ignore_offset else offset,
        limit=_page_entries(quirks, limit),
    )
    response: Response = {"RetCode": 0, "Action": f"{action}Response", "ImageSet": items}
    if not quirks.omit_total:
        response["TotalCount"] = total if quirks.total_count is None else quirks.total_count
    if quirks.omit_zero or quirks.omit_fields:
        for item in items:
            for key in [
                k
                for k, v in item.items()
                if (quirks.omit_zero and v == 0) or k in quirks.omit_fields
            ]:
                del item[key]
    return response


def _page_entries(quirks: Quirks, limit: int) -> int | None:
    """Return how many entries a page holds under ``quirks`` (None: to the end)."""
    if quirks.ignore_limit:
        return None
    return limit if quirks.page_entries is None else quirks.page_entries


def get_region(fleet: Fleet, account: Account) -> Response:
    """List the account's regions, one entry per zone as UAccount's GetRegion does."""
    entries: list[dict[str, object]] = []
    for position, region in enumerate(fleet.regions(account.public_key)):
        for zone in range(1, account.zones_per_region + 1):
            entries.append(
                {
                    "RegionId": _region_number(region),
                    "RegionName": _REGION_NAMES.get(region, region),
                    "IsDefault": position == 0 and zone == 1,
                    "BitMaps": "",
                    "Region": region,
                    "Zone": f"{region}-{zone:02d}",
                }
            )
    return {"RetCode": 0, "Action": "GetRegionResponse", "Regions": entries}


def _region_number(region: str) -> int:
    """Give a region a stable numeric id."""
    if region in REGION_IDS:
        return 1_000_001 + REGION_IDS.index(region)
    return 2_000_000 + zlib.crc32(region.encode("utf-8")) % 100_000


def _count(raw: str | None, *, default: int) -> int | None:
    """Parse a non-negative decimal parameter; None when it is malformed."""
    if raw is None or raw == "":
        return default
    if raw.isascii() and raw.isdigit():
        return int(raw)
    return None
