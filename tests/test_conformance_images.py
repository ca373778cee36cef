"""UCloud's official Python SDK against our simulator and our client: the image actions.

The SDK's own client, pointed at the simulator, pages UGC ``GetDockerImageList`` with its
generic ``invoke`` (it has no UGC service) and UHost ``DescribeImage`` with its ``uhost``
service (every answer loads through its schema and carries every field the schema requires);
what it sees equals what ``list_docker_images`` and ``list_host_images`` list from the same
simulator. Then both clients' requests for the same parameters are caught on the wire (a
recording proxy) and compared field by field: signed and encoded alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from ucloud.client import Client

from exporter.simulator import (
    GOLDEN_PRIVATE_KEY,
    GOLDEN_PROJECT,
    GOLDEN_PUBLIC_KEY,
    DockerImage,
    DockerTag,
    GeneratedDockerImages,
    GeneratedHostImages,
    HostImage,
    Simulator,
    golden_fleet,
)
from exporter.ucloud import (
    TRANSPORTS,
    UCloudClient,
    list_docker_images,
    list_host_images,
)
from exporter.ucloud._host_images import GIB
from tests.support.recorder import Recorder
from tests.support.sdk import (
    assert_sent_alike,
    check_schemas,
    deadline,
    golden_account,
    no_proxy,  # noqa: F401 (autouse fixture)
    ours,
    sdk_client,
    sdk_docker_images,
    sdk_host_images,
    sent_by_sdk,
    unobserved,
    watched,
)

pytestmark = pytest.mark.e2e  # every test here starts a process

T0 = 1_700_000_000
ODD = "镜像仓库/测试"  # golden cn-bj2 buckets whose names need encoding
QUOTE = 'golden/quote"name'
ACCOUNT = golden_account()


@pytest.fixture
def sim() -> Iterator[Simulator]:
    """The golden fleet with Docker images in two cn-bj2 buckets and custom host images."""
    fleet = golden_fleet()
    with fleet.locked(GOLDEN_PUBLIC_KEY) as account:
        buckets = {b.name: b for b in account.regions["cn-bj2"]}
        buckets[ODD].docker_images = [
            DockerImage("web", [DockerTag("v1", T0), DockerTag("v2", T0 + 60)], T0 + 60),
            DockerImage("empty", [], T0),
            DockerImage("应用/a b+c", [DockerTag("latest", T0 + 5)], T0 + 5),
        ]
        buckets[QUOTE].docker_images = GeneratedDockerImages(23, 3, T0, T0 + 10_000)
        account.host_images["cn-bj2"] = [
            HostImage("uimage-eol", "eol", T0, "Ubuntu 22.04 64位", "Linux", "Unavailable", 40,
                      "2027/04/30", "cn-bj2-02"),
            HostImage("uimage-blank", "blank", T0 + 1),
            *GeneratedHostImages(9, "cn-bj2", T0),
        ]  # fmt: skip
    with Simulator(fleet) as served:
        yield served


def sdk(url: str, **config: Any) -> Client:
    """The SDK's client for the golden account (project ``GOLDEN_PROJECT``) at ``url``."""
    return sdk_client(
        url, GOLDEN_PUBLIC_KEY, GOLDEN_PRIVATE_KEY, **{"project_id": GOLDEN_PROJECT, **config}
    )


@pytest.mark.parametrize("limit", [2, 100])
@pytest.mark.parametrize("bucket", [ODD, QUOTE])
def test_sdk_pages_docker_images_as_our_client_lists_them(
    sim: Simulator, bucket: str, limit: int
) -> None:
    seen = sdk_docker_images(sdk(sim.url), "cn-bj2", bucket, limit)
    found = ours(
        sim.url,
        lambda c: list_docker_images(
            c, ACCOUNT, "cn-bj2", bucket, project=None, deadline=deadline(), observe=unobserved
        ),
        page_size=limit,
    )
    assert {i.name: (i.tags, i.newest_tag, i.oldest_tag, i.updated) for i in found.images} == seen
    assert len(seen) == (3 if bucket == ODD else 23)
    assert (found.invalid, found.inconsistencies, found.gone) == ({}, frozenset(), False)


@pytest.mark.parametrize("limit", [3, 100])
def test_sdk_loads_describe_image_and_sees_our_host_images(sim: Simulator, limit: int) -> None:
    client = sdk(sim.url, region="cn-bj2")
    answers = watched(client)
    seen = sdk_host_images(client, limit)
    check_schemas(answers)
    found = ours(
        sim.url,
        lambda c: list_host_images(
            c, ACCOUNT, "cn-bj2", project=None, deadline=deadline(), observe=unobserved
        ),
        page_size=limit,
    )
    assert {i.id for i in found.images} == set(seen) and len(seen) == 11
    for image in found.images:
        raw = seen[image.id]
        assert (image.name, image.os_name, image.os_type, image.state, image.zone) == (
            raw["ImageName"], raw["OsName"], raw["OsType"], raw["State"], raw["Zone"])  # fmt: skip
        assert (image.created, image.size_bytes) == (raw["CreateTime"], raw["ImageSize"] * GIB)
    eol = {i.id: i.eol for i in found.images}
    assert eol["uimage-eol"] == int(datetime(2027, 4, 29, 16, tzinfo=UTC).timestamp())
    assert eol["uimage-blank"] is None
    assert (found.invalid, found.inconsistencies) == ({}, frozenset())


@pytest.mark.parametrize("http", TRANSPORTS)
def test_our_requests_are_signed_and_encoded_as_the_sdks(sim: Simulator, http: str) -> None:
    async def everything(client: UCloudClient) -> None:
        for bucket in (ODD, QUOTE, "golden\\back\\slash"):
            await list_docker_images(
                client, ACCOUNT, "cn-bj2", bucket, project=None, deadline=deadline(),
                observe=unobserved,
            )  # fmt: skip
        await list_host_images(
            client, ACCOUNT, "cn-bj2", project=None, deadline=deadline(), observe=unobserved
        )

    with Recorder(sim.url) as recorder:
        ours(recorder.url, everything, page_size=4, http=http)
        mine = recorder.take()
        assert {r.form["Action"] for r in mine} == {"GetDockerImageList", "DescribeImage"}
        assert {r.form.get("BucketName") for r in mine} >= {ODD, QUOTE}
        for request in mine:
            assert_sent_alike(request, sent_by_sdk(recorder, request, sdk))
    assert sim.request_count() == 2 * len(mine)  # every one answered (signature accepted)
