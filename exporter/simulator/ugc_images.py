"""UGC's GetDockerImageList: the Docker images inside one image bucket.

Request (``ugc-api/get_docker_image_list.md``): ``Region`` and ``BucketName`` (both
required), ``OrderBy`` (only ``Default`` documented; any value is accepted and ignored),
``Offset`` (default 0), ``Limit`` (default 20), ``ProjectId`` (optional, selects the project
as everywhere). The bucket is looked up among the project's buckets of ``Region`` (a
:class:`~exporter.simulator.model.Bucket`'s ``docker_images``, a list or generated).

Answer: ``TotalCount`` (int) and ``ImageSet[]`` of ``BucketName`` (string, the image's
name: the reference names the field so; its sample writes ``ImageName``), ``TagSet[]``
{``TagName`` string, ``CreateTime`` int Unix seconds}, ``UpdateTime`` (int, Unix seconds),
``ResourceId`` (string) and ``OrgId`` (string, the project id). Every response field is
optional in the reference.

Odd but legal (:class:`~exporter.simulator.model.Quirks`, from the project's
``action_quirks["GetDockerImageList"][region]`` or a one-off ``Fault(quirks=...)``): lying or
omitted ``TotalCount``, ignored ``Offset``/``Limit``, odd page sizes, ``omit_fields`` (e.g.
``UpdateTime``, ``TagSet``), ``omit_zero``, ``delay_seconds``, and ``name_key``: the name
under ``BucketName`` (default), ``ImageName`` or both.

Errors use UGC's own RetCodes (``ugc-api/error_code.md``, the ``Message`` its name): 43006
``ParaMiss`` (``Region`` or ``BucketName`` missing), 43033 ``ParaError`` (a malformed
``Offset`` or ``Limit``) and 43023 ``BucketNotExistError`` (no such bucket in that region and
project, a region the account lacks, or a bucket marked ``vanished``: listed by
GetImageBucketList but deleted before this call; ``Fleet.remove_bucket`` does the same live).
"""

from __future__ import annotations

from collections.abc import Mapping

from exporter.simulator.images import DockerImage, resource_id
from exporter.simulator.model import Account, Fleet, Quirks
from exporter.simulator.paging import Response, error, listed, paging, take, window

__all__ = [
    "BUCKET_NOT_EXIST",
    "PARA_ERROR",
    "PARA_MISS",
    "UGC_IMAGE_ACTIONS",
    "get_docker_image_list",
]

UGC_IMAGE_ACTIONS = ("GetDockerImageList",)
#: UGC RetCodes (``ugc-api/error_code.md``) the simulator answers.
PARA_MISS = 43006
BUCKET_NOT_EXIST = 43023
PARA_ERROR = 43033


def get_docker_image_list(
    fleet: Fleet,
    account: Account,
    params: Mapping[str, str],
    *,
    limit_clamp: int | None,
    quirks: Quirks,
) -> Response:
    """List one bucket's Docker images, shaped by ``quirks`` (the gateway passes the project's
    own unless a fault brings others)."""
    action = "GetDockerImageList"
    region, name = params.get("Region", ""), params.get("BucketName", "")
    if not region or not name:
        return error(action, PARA_MISS, "ParaMiss")
    page = paging(action, params, limit_clamp=limit_clamp)
    if not isinstance(page, tuple):
        return error(action, PARA_ERROR, "ParaError")
    start, count = window(quirks, *page)
    with fleet.locked(account.public_key) as live:
        project = live.project(params.get("ProjectId"))
        buckets = project.regions.get(region, [])
        bucket = next((b for b in buckets if b.name == name and not b.vanished), None)
        if bucket is None:
            return error(action, BUCKET_NOT_EXIST, "BucketNotExistError")
        images = bucket.docker_images
        items = [_item(name, i, project.id, quirks) for i in take(images, start, count)]
        total = len(images)
    return listed(action, "ImageSet", total, items, quirks)


def _item(bucket: str, image: DockerImage, org: str, quirks: Quirks) -> dict[str, object]:
    """Render an ``ImageSet`` item, its name under the key(s) ``quirks.name_key`` says."""
    keys = {"": ("BucketName",), "both": ("BucketName", "ImageName")}.get(
        quirks.name_key, (quirks.name_key,)
    )
    item: dict[str, object] = dict.fromkeys(keys, image.name)
    item["TagSet"] = [{"TagName": t.name, "CreateTime": t.create_time} for t in image.tags]
    item["UpdateTime"] = image.update_time
    item["ResourceId"] = resource_id(bucket, image)
    item["OrgId"] = org
    return item
