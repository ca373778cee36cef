"""Gateway logic independent of HTTP: authentication, then the supported actions.

GetImageBucketList and GetRegion are answered here; UHub's GetRepo, GetRepoImage and
GetImageTag (cross-region, no ``Region``) in :mod:`exporter.simulator.uhub`, UAccount's
GetProjectList in :mod:`exporter.simulator.projects`, UGC's GetDockerImageList in
:mod:`exporter.simulator.ugc_images` and UHost's DescribeImage in
:mod:`exporter.simulator.host_images`. ``ProjectId`` selects the project whose
data a request reads (none: the account's default project; unknown: RetCode 292).
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Iterator, Mapping

from exporter.simulator.fleet import REGION_IDS
from exporter.simulator.host_images import HOST_IMAGE_ACTIONS, describe_image
from exporter.simulator.model import Account, Fleet, Quirks
from exporter.simulator.paging import Response, error, listed, paging, window
from exporter.simulator.projects import PROJECT_ACTIONS, get_project_list
from exporter.simulator.signing import verify
from exporter.simulator.sts import STS_ACTIONS
from exporter.simulator.ugc_images import UGC_IMAGE_ACTIONS, get_docker_image_list
from exporter.simulator.uhub import UHUB_ACTIONS, answer_uhub

__all__ = ["ACTIONS", "IMAGE_ACTIONS", "Response", "authenticate", "dispatch", "error"]

ACTIONS = (
    "GetImageBucketList",
    "GetRegion",
    *PROJECT_ACTIONS,
    *UHUB_ACTIONS,
    *STS_ACTIONS,
    *UGC_IMAGE_ACTIONS,
    *HOST_IMAGE_ACTIONS,
)
#: Actions that answer with the project's ``action_quirks`` for their region.
IMAGE_ACTIONS = {"GetDockerImageList": get_docker_image_list, "DescribeImage": describe_image}
_BUCKET_TYPES: dict[str, bool | None] = {"All": None, "User": False, "Share": True}
_REGION_NAMES = {
    "cn-bj1": "北京一", "cn-bj2": "北京二", "cn-sh2": "上海二", "cn-gd": "广州", "hk": "香港",
    "sg": "新加坡", "us-ca": "洛杉矶", "jpn-tky": "东京", "ge-fra": "法兰克福",
}  # fmt: skip


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
    if project and not account.knows_project(project):
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
    if params["Action"] in PROJECT_ACTIONS:
        return get_project_list(fleet, account, quirks=quirks)
    if params["Action"] in UHUB_ACTIONS:
        return answer_uhub(fleet, account, params, limit_clamp=limit_clamp, quirks=quirks)
    if params["Action"] in IMAGE_ACTIONS:
        action, region = params["Action"], params.get("Region", "")
        project = params.get("ProjectId")
        quirks = quirks or fleet.action_quirks(account.public_key, action, region, project=project)
        return IMAGE_ACTIONS[action](fleet, account, params, limit_clamp=limit_clamp, quirks=quirks)
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
    if not fleet.has_region(account.public_key, region):
        return error(action, 230, "Params [Region] not valid")
    bucket_type = params.get("BucketType") or "All"
    if bucket_type not in _BUCKET_TYPES:
        return error(action, 230, "Params [BucketType] not valid")
    page = paging(action, params, limit_clamp=limit_clamp)
    if not isinstance(page, tuple):
        return page
    offset, limit = page
    if drift_rng is not None and offset == 0:
        fleet.drift(drift_rng)
    project = params.get("ProjectId")
    quirks = quirks or fleet.quirks(account.public_key, region, project=project)
    start, count = window(quirks, offset, limit)
    total, items = fleet.query(
        account.public_key,
        region,
        name=params.get("BucketName", ""),
        shared=_BUCKET_TYPES[bucket_type],
        offset=start,
        limit=count,
        project=project,
    )
    return listed(action, "ImageSet", total, items, quirks)


def get_region(fleet: Fleet, account: Account) -> Response:
    """List the account's regions (every project's: account-wide), one entry per zone as
    UAccount's GetRegion does."""
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
