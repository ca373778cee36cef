"""UHost's DescribeImage: the custom (machine) images of one project's region.

Request (``uhost-api/describe_image.md``, the SDKs' DescribeImageRequest): ``Region``
(required), ``Zone``, ``ProjectId``, ``ImageType`` (``Base``, ``Business``, ``Custom``; none:
every type), ``OsType`` (``Linux``, ``Windows``; none: both), ``ImageId``, ``ImageIds.N``,
``Offset`` (default 0), ``Limit`` (default 20); ``PriceSet``, ``FuncType`` and ``Tag`` are
accepted and ignored. The simulator holds custom images only (a project's ``host_images`` by
region): ``ImageType=Base`` or ``Business`` lists none, no ``ImageType`` lists the custom ones.

Answer: ``TotalCount`` (int) and ``ImageSet[]`` (UHostImageSet) of ``ImageId``,
``ImageName``, ``Zone``, ``OsType``, ``OsName``, ``ImageType`` (``Custom``), ``State``
(``Available``, ``Making``, ``Unavailable``, ``Copying``), ``ImageDescription``,
``CreateTime`` (int, Unix seconds), ``ImageSize`` (int; no source states its unit: the
simulator writes GB, the unit of UHost disk sizes, e.g. 20 for a Linux image), ``MaintainEol``
(string ``YYYY/MM/DD``, "" when unknown), ``Features`` and ``DataSnapshotIds`` (empty lists),
``MinimalCPU`` ("") and ``Tag`` (``Default``). Every response field is optional upstream.

Odd but legal (:class:`~exporter.simulator.model.Quirks`, from the project's
``action_quirks["DescribeImage"][region]`` or a one-off ``Fault(quirks=...)``): lying or
omitted ``TotalCount``, ignored ``Offset``/``Limit``, odd page sizes, ``omit_fields`` (e.g.
``MaintainEol``, ``ImageSize``), ``omit_zero``, ``delay_seconds``.

Errors (the gateway's generic RetCode 230, as for every other action here): ``Missing params
[Region]``, ``Params [Region] not valid`` (a region the account lacks), ``Params [ImageType]
not valid``, ``Params [OsType] not valid``, ``Params [Offset] not valid``, ``Params [Limit]
not valid``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from exporter.simulator.images import OS_TYPES, HostImage
from exporter.simulator.model import Account, Fleet, Quirks
from exporter.simulator.paging import Response, error, listed, paging, take, window

__all__ = ["HOST_IMAGE_ACTIONS", "IMAGE_TYPES", "describe_image"]

HOST_IMAGE_ACTIONS = ("DescribeImage",)
#: ``ImageType`` values DescribeImage documents.
IMAGE_TYPES = ("Base", "Business", "Custom")


def describe_image(
    fleet: Fleet,
    account: Account,
    params: Mapping[str, str],
    *,
    limit_clamp: int | None,
    quirks: Quirks,
) -> Response:
    """List one project's region's images with the documented filters and paging, shaped by
    ``quirks`` (the gateway passes the project's own unless a fault brings others)."""
    action = "DescribeImage"
    region = params.get("Region", "")
    if not region:
        return error(action, 230, "Missing params [Region]")
    for name, allowed in (("ImageType", IMAGE_TYPES), ("OsType", OS_TYPES)):
        if params.get(name) and params[name] not in allowed:
            return error(action, 230, f"Params [{name}] not valid")
    page = paging(action, params, limit_clamp=limit_clamp)
    if not isinstance(page, tuple):
        return page
    with fleet.locked(account.public_key) as live:
        images = live.project(params.get("ProjectId")).host_images.get(region)
        if images is None and not fleet.has_region(account.public_key, region):
            return error(action, 230, "Params [Region] not valid")
        found = _filtered(images or [], region, params)
        items = [_item(i, region) for i in take(found, *window(quirks, *page))]
    return listed(action, "ImageSet", len(found), items, quirks)


def _filtered(
    images: Sequence[HostImage], region: str, params: Mapping[str, str]
) -> Sequence[HostImage]:
    """Keep the images the request's filters select (none given: all, generated ones unmade)."""
    if params.get("ImageType", "Custom") != "Custom":
        return []
    wanted = {v for k, v in params.items() if k == "ImageId" or k.startswith("ImageIds.")}
    os_type, zone = params.get("OsType", ""), params.get("Zone", "")
    if not (wanted - {""} or os_type or zone):
        return images
    return [
        i
        for i in images
        if (not wanted - {""} or i.id in wanted)
        and (not os_type or i.os_type == os_type)
        and (not zone or (i.zone or f"{region}-01") == zone)
    ]


def _item(image: HostImage, region: str) -> dict[str, object]:
    """Render a ``UHostImageSet`` item."""
    return {
        "ImageId": image.id,
        "ImageName": image.name,
        "Zone": image.zone or f"{region}-01",
        "OsType": image.os_type,
        "OsName": image.os_name,
        "ImageType": "Custom",
        "State": image.state,
        "ImageDescription": image.description,
        "CreateTime": image.create_time,
        "ImageSize": image.size,
        "MaintainEol": image.maintain_eol,
        "Features": [],
        "DataSnapshotIds": [],
        "MinimalCPU": "",
        "Tag": "Default",
    }
