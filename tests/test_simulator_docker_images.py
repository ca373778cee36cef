"""The simulated gateway's UGC GetDockerImageList: a bucket's Docker images over loopback HTTP,
their fields, paging, quirks, UGC errors, generated images, fleet files, the demo fleet and
the official Python SDK reading the answers."""

from __future__ import annotations

import time
import tracemalloc
from typing import Any

import pytest
from ucloud.core.exc import RetCodeException

from exporter.simulator import (
    BENCH_PROJECT,
    DEMO_ACCOUNTS,
    DEMO_PROJECT,
    FIXED_EPOCH,
    GOLDEN_PRIVATE_KEY,
    GOLDEN_PROJECT,
    GOLDEN_PUBLIC_KEY,
    UGC_IMAGE_ACTIONS,
    Account,
    Bucket,
    DockerImage,
    DockerTag,
    Fault,
    GeneratedDockerImages,
    ProjectData,
    Quirks,
    demo_fleet,
    docker_image_fleet,
    fleet_from_dict,
)
from exporter.simulator.ugc_images import BUCKET_NOT_EXIST, PARA_ERROR, PARA_MISS
from tests.support.images import ask, fleet_file, serving, walk
from tests.support.sdk import no_proxy, pages, sdk_client  # noqa: F401 (autouse fixture)

ACTION = "GetDockerImageList"
FIELDS = {"BucketName", "TagSet", "UpdateTime", "ResourceId", "OrgId"}
T0 = 1_700_000_000


def images(count: int) -> list[DockerImage]:
    """``app-00`` ... with ``k + 1`` tags each (``v1`` oldest), updated at their newest tag."""
    made = []
    for k in range(count):
        tags = [DockerTag(f"v{j + 1}", T0 + k * 100 + j) for j in range(k + 1)]
        made.append(DockerImage(f"app-{k:02d}", tags, tags[-1].create_time))
    return made


def account(**quirks: Quirks) -> Account:
    """The golden key pair: cn-bj2 holds ``web`` (45 images), ``empty``, ``gone`` (vanished) and
    ``big`` (120 generated); a second project has ``web`` with one image of its own."""
    bj2 = [
        Bucket("web", "Private", 45, T0, docker_images=images(45)),
        Bucket("empty", "Public", 0, T0),
        Bucket("gone", "Private", 1, T0, docker_images=images(1), vanished=True),
        Bucket("big", "Private", 120, T0, docker_images=GeneratedDockerImages(120, 2, T0, T0)),
    ]
    owner = Account(GOLDEN_PUBLIC_KEY, GOLDEN_PRIVATE_KEY, {GOLDEN_PROJECT}, {"cn-bj2": bj2})
    owner.action_quirks = {ACTION: dict(quirks)} if quirks else {}
    other = [Bucket("web", "Private", 1, T0, docker_images=[DockerImage("solo", (), T0, "r-1")])]
    owner.extra_projects = [ProjectData("org-other", regions={"cn-bj2": other})]
    return owner


# --- fields and paging -------------------------------------------------------------------------


@pytest.mark.e2e
def test_fields_of_an_image_and_the_default_page() -> None:
    with serving(account()) as (_, http):
        body = ask(http, ACTION, Region="cn-bj2", BucketName="web")
    assert (body["RetCode"], body["Action"], body["TotalCount"]) == (0, f"{ACTION}Response", 45)
    assert len(body["ImageSet"]) == 20  # Limit defaults to 20
    assert all(set(item) == FIELDS for item in body["ImageSet"])
    second = body["ImageSet"][1]
    assert second["BucketName"] == "app-01"
    assert second["TagSet"] == [
        {"TagName": "v1", "CreateTime": T0 + 100},
        {"TagName": "v2", "CreateTime": T0 + 101},
    ]
    assert second["UpdateTime"] == T0 + 101
    assert second["OrgId"] == GOLDEN_PROJECT
    assert isinstance(second["ResourceId"], str) and second["ResourceId"].startswith("uimg-")
    assert len({i["ResourceId"] for i in body["ImageSet"]}) == 20  # one per image


@pytest.mark.e2e
def test_offset_limit_and_a_walk_through_every_page() -> None:
    with serving(account()) as (_, http):
        page = ask(http, ACTION, Region="cn-bj2", BucketName="web", Offset=40, Limit=10)
        assert [i["BucketName"] for i in page["ImageSet"]] == [f"app-{k}" for k in range(40, 45)]
        assert ask(http, ACTION, Region="cn-bj2", BucketName="web", Limit=0)["ImageSet"] == []
        assert ask(http, ACTION, Region="cn-bj2", BucketName="web", Offset=99)["ImageSet"] == []
        walked = walk(http, ACTION, limit=7, Region="cn-bj2", BucketName="web")
        assert [i["BucketName"] for i in walked] == [f"app-{k:02d}" for k in range(45)]
        empty = ask(http, ACTION, Region="cn-bj2", BucketName="empty", OrderBy="Default")
        assert (empty["RetCode"], empty["TotalCount"], empty["ImageSet"]) == (0, 0, [])


@pytest.mark.e2e
def test_project_id_selects_the_projects_bucket() -> None:
    with serving(account()) as (_, http):
        other = ask(http, ACTION, Region="cn-bj2", BucketName="web", ProjectId="org-other")
        unknown = ask(http, ACTION, Region="cn-bj2", BucketName="web", ProjectId="org-nope")
    assert other["TotalCount"] == 1
    assert other["ImageSet"] == [
        {"BucketName": "solo", "TagSet": [], "UpdateTime": T0, "ResourceId": "r-1",
         "OrgId": "org-other"}
    ]  # fmt: skip
    assert unknown["RetCode"] == 292


@pytest.mark.e2e
def test_the_simulators_limit_clamp_caps_a_page() -> None:
    with serving(account()) as (sim, http):
        sim.limit_clamp = 5
        body = ask(http, ACTION, Region="cn-bj2", BucketName="web", Limit=100)
    assert (len(body["ImageSet"]), body["TotalCount"]) == (5, 45)


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("params", "retcode", "message"),
    [
        ({"BucketName": "web"}, PARA_MISS, "ParaMiss"),
        ({"Region": "cn-bj2"}, PARA_MISS, "ParaMiss"),
        ({"Region": "cn-bj2", "BucketName": ""}, PARA_MISS, "ParaMiss"),
        ({"Region": "cn-bj2", "BucketName": "web", "Offset": "-1"}, PARA_ERROR, "ParaError"),
        ({"Region": "cn-bj2", "BucketName": "web", "Limit": "many"}, PARA_ERROR, "ParaError"),
        ({"Region": "cn-bj2", "BucketName": "nope"}, BUCKET_NOT_EXIST, "BucketNotExistError"),
        ({"Region": "hk", "BucketName": "web"}, BUCKET_NOT_EXIST, "BucketNotExistError"),
        ({"Region": "cn-bj2", "BucketName": "gone"}, BUCKET_NOT_EXIST, "BucketNotExistError"),
    ],
)
def test_ugc_error_codes(params: dict[str, Any], retcode: int, message: str) -> None:
    with serving(account()) as (_, http):
        body = ask(http, ACTION, **params)
    assert body == {"RetCode": retcode, "Action": f"{ACTION}Response", "Message": message}
    assert (PARA_MISS, BUCKET_NOT_EXIST, PARA_ERROR) == (43006, 43023, 43033)


@pytest.mark.e2e
def test_a_bucket_deleted_between_the_listing_and_the_call_answers_43023() -> None:
    with serving(account()) as (sim, http):
        listed = ask(http, "GetImageBucketList", Region="cn-bj2")
        assert "web" in [b["BucketName"] for b in listed["ImageSet"]]
        assert "gone" in [b["BucketName"] for b in listed["ImageSet"]]  # vanished: still listed
        sim.fleet.remove_bucket(GOLDEN_PUBLIC_KEY, "cn-bj2", "web")
        body = ask(http, ACTION, Region="cn-bj2", BucketName="web")
    assert body["RetCode"] == BUCKET_NOT_EXIST


# --- quirks ------------------------------------------------------------------------------------


@pytest.mark.e2e
def test_region_quirks_shape_the_answer() -> None:
    lying = Quirks(total_count=3, ignore_offset=True, page_entries=4, omit_fields=("UpdateTime",))
    with serving(account(**{"cn-bj2": lying})) as (_, http):
        body = ask(http, ACTION, Region="cn-bj2", BucketName="web", Offset=10, Limit=20)
        bucket_list = ask(http, "GetImageBucketList", Region="cn-bj2")
    assert body["TotalCount"] == 3
    assert [i["BucketName"] for i in body["ImageSet"]] == ["app-00", "app-01", "app-02", "app-03"]
    assert all("UpdateTime" not in i and "TagSet" in i for i in body["ImageSet"])
    assert bucket_list["TotalCount"] == 4  # the bucket listing keeps its own (no) quirks


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("name_key", "keys"),
    [("", {"BucketName"}), ("BucketName", {"BucketName"}), ("ImageName", {"ImageName"}),
     ("both", {"BucketName", "ImageName"})],
)  # fmt: skip
def test_both_spellings_of_the_name(name_key: str, keys: set[str]) -> None:
    with serving(account(**{"cn-bj2": Quirks(name_key=name_key)})) as (_, http):
        first = ask(http, ACTION, Region="cn-bj2", BucketName="web", Limit=1)["ImageSet"][0]
    assert set(first) - (FIELDS - {"BucketName"}) == keys
    assert all(first[k] == "app-00" for k in keys)


@pytest.mark.e2e
def test_one_off_fault_quirks_omit_the_total_and_ignore_the_limit() -> None:
    with serving(account()) as (sim, http):
        sim.add_fault(
            Fault(quirks=Quirks(omit_total=True, ignore_limit=True), times=1), action=ACTION
        )
        odd = ask(http, ACTION, Region="cn-bj2", BucketName="web", Limit=2, Offset=40)
        normal = ask(http, ACTION, Region="cn-bj2", BucketName="web", Limit=2, Offset=40)
        assert sim.request_count(action=ACTION, region="cn-bj2") == 2
    assert "TotalCount" not in odd and len(odd["ImageSet"]) == 5
    assert normal["TotalCount"] == 45 and len(normal["ImageSet"]) == 2


@pytest.mark.e2e
def test_quirks_delay_and_a_retcode_fault() -> None:
    with serving(account(**{"cn-bj2": Quirks(delay_seconds=0.3)})) as (sim, http):
        began = time.monotonic()
        assert ask(http, ACTION, Region="cn-bj2", BucketName="web")["RetCode"] == 0
        assert time.monotonic() - began >= 0.3
        sim.add_fault(Fault(retcode=43018, message="InnerFrameworkError"), region="cn-bj2")
        assert ask(http, ACTION, Region="cn-bj2", BucketName="web")["RetCode"] == 43018


def test_an_unknown_name_key_is_refused() -> None:
    with pytest.raises(ValueError, match="name_key"):
        Quirks(name_key="Name")


# --- generated images --------------------------------------------------------------------------


def test_generated_images_are_made_on_demand() -> None:
    made = GeneratedDockerImages(12, 3, T0, T0 + 10_000)
    assert len(made) == 12 and made[0].name == "image-00001" and made[-1].name == "image-00012"
    assert [t.name for t in made[0].tags] == ["v1", "v2", "v3"]
    assert [t.create_time for t in made[0].tags] == [T0, T0 + 3600, T0 + 7200]
    assert (made[0].update_time, made[5].update_time) == (T0 + 10_000, T0 + 9_995)
    assert GeneratedDockerImages(1, 3, T0, T0)[0].update_time == T0 + 7200  # never before a tag
    assert [i.name for i in made[10:]] == ["image-00011", "image-00012"]
    assert GeneratedDockerImages(1, 0, T0, T0)[0].tags == []
    with pytest.raises(IndexError):
        made[12]
    for bad in ((-1, 1), (1, -1)):
        with pytest.raises(ValueError, match="must be >= 0"):
            GeneratedDockerImages(*bad, T0, T0)


@pytest.mark.e2e
def test_the_benchmark_fleet_holds_no_image_until_asked() -> None:
    tracemalloc.start()
    began = time.monotonic()
    fleet = docker_image_fleet()  # 1,000 buckets x 50 images
    elapsed = time.monotonic() - began
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert elapsed < 2 and peak < 5_000_000
    with fleet.locked("bench-public-key") as owner:
        assert owner.default_project == BENCH_PROJECT
        (region,) = owner.regions
        buckets = owner.regions[region]
        assert len(buckets) == 1_000
        assert all(isinstance(b.docker_images, GeneratedDockerImages) for b in buckets)
        assert {len(b.docker_images) for b in buckets} == {50}
        last = buckets[-1].name
    with serving(fleet) as (_, http):
        keys = ("bench-public-key", "bench-private-key")
        body = ask(http, ACTION, keys=keys, Region=region, BucketName=last, Limit=50)
    assert body["TotalCount"] == 50 and len(body["ImageSet"]) == 50
    assert all(len(i["TagSet"]) == 3 for i in body["ImageSet"])
    small = docker_image_fleet(buckets=2, images=3, tags=1, host_images=4)
    with small.locked("bench-public-key") as owner:
        assert len(owner.host_images["cn-bj1"]) == 4
    with pytest.raises(ValueError, match="must be >= 0"):
        docker_image_fleet(images=-1)


# --- fleet files and the demo fleet ------------------------------------------------------------


@pytest.mark.e2e
def test_fleet_file_docker_images() -> None:
    fleet = fleet_from_dict(
        fleet_file(
            synthetic=2,
            synthetic_docker_images=5,
            buckets=[
                {"name": "web", "docker_images": [
                    {"name": "frontend", "update_time": T0, "resource_id": "uimg-1",
                     "tags": [{"name": "v1", "create_time": T0 - 5}, {"name": "v2"}]},
                    {"name": "worker", "tags": 2},
                ]},
                {"name": "big", "docker_images": 600, "docker_tags": 2},
                {"name": "gone", "vanished": True},
            ],
            action_quirks={ACTION: {"name_key": "both", "total_count": 9}},
        )
    )  # fmt: skip
    with serving(fleet) as (_, http):
        web = ask(http, ACTION, Region="cn-bj2", BucketName="web")
        big = ask(http, ACTION, Region="cn-bj2", BucketName="big", Offset=598)
        synthetic = ask(http, ACTION, Region="cn-bj2", BucketName="bucket-00001")
        gone = ask(http, ACTION, Region="cn-bj2", BucketName="gone")
    frontend, worker = web["ImageSet"]
    assert web["TotalCount"] == 9  # the quirk's lie
    assert frontend == {
        "BucketName": "frontend", "ImageName": "frontend", "UpdateTime": T0,
        "TagSet": [{"TagName": "v1", "CreateTime": T0 - 5},
                   {"TagName": "v2", "CreateTime": FIXED_EPOCH}],
        "ResourceId": "uimg-1", "OrgId": GOLDEN_PROJECT,
    }  # fmt: skip
    assert [t["TagName"] for t in worker["TagSet"]] == ["v1", "v2"]
    assert worker["UpdateTime"] == FIXED_EPOCH + 3600  # default: its newest tag
    assert [i["BucketName"] for i in big["ImageSet"]] == ["image-00599", "image-00600"]
    assert all(len(i["TagSet"]) == 2 for i in big["ImageSet"])
    assert len(synthetic["ImageSet"]) == 5 and len(synthetic["ImageSet"][0]["TagSet"]) == 3
    assert gone["RetCode"] == BUCKET_NOT_EXIST


@pytest.mark.parametrize(
    ("region", "error"),
    [
        ({"buckets": [{"name": "b", "docker_images": "many"}]}, r"buckets\[0\]\.docker_images"),
        ({"buckets": [{"name": "b", "docker_images": -1}]}, r"docker_images: must be 0 to"),
        ({"buckets": [{"name": "b", "docker_images": [{"name": "i", "size": 1}]}]},
         r"docker_images\[0\]\.size: unknown field"),
        ({"buckets": [{"name": "b", "docker_images": [{"name": "i"}, {"name": "i"}]}]},
         r"docker_images\[1\]\.name: 'i' is listed twice"),
        ({"buckets": [{"name": "b", "docker_images": [{"name": "i", "tags": "x"}]}]},
         r"tags: must be a list or a number"),
        ({"buckets": [{"name": "b", "vanished": "yes"}]}, r"vanished: must be true or false"),
        ({"synthetic_docker_images": -2}, r"synthetic_docker_images: must be a non-negative"),
        ({"action_quirks": {"GetRepo": {}}}, r"action_quirks\.GetRepo: unknown action"),
        ({"action_quirks": {ACTION: {"name_key": "x"}}}, r"action_quirks\.GetDockerImageList"),
    ],
)  # fmt: skip
def test_fleet_file_mistakes_name_their_key(region: dict[str, Any], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        fleet_from_dict(fleet_file(**region))


@pytest.mark.e2e
def test_the_demo_fleet_has_images_in_a_few_buckets() -> None:
    fleet = demo_fleet(now=FIXED_EPOCH)
    key = DEMO_ACCOUNTS[0][1]
    with fleet.locked(key) as main:
        full = [b for b in main.regions["cn-bj2"] if b.docker_images]
        elsewhere = [b for r, bs in main.regions.items() if r != "cn-bj2" for b in bs]
    assert len(full) == 3 and not any(b.docker_images for b in elsewhere)
    with serving(fleet) as (_, http):
        for bucket in full:
            keys = (key, DEMO_ACCOUNTS[0][2])
            body = ask(http, ACTION, keys=keys, Region="cn-bj2", BucketName=bucket.name)
            assert body["TotalCount"] == len(bucket.docker_images) > 0
            assert all(i["OrgId"] == DEMO_PROJECT and i["TagSet"] for i in body["ImageSet"])
            assert all(i["UpdateTime"] == i["TagSet"][-1]["CreateTime"] for i in body["ImageSet"])
    assert demo_fleet(now=FIXED_EPOCH).account(key) is not None  # deterministic build
    assert UGC_IMAGE_ACTIONS == (ACTION,)


# --- the official SDK --------------------------------------------------------------------------


@pytest.mark.e2e
def test_the_sdks_invoke_pages_every_image_of_a_bucket() -> None:
    """The SDK has no UGC service: its generic ``invoke`` sends GetDockerImageList and pages it
    plainly; it sees exactly the bucket's images, fields of the documented types."""
    with serving(account()) as (sim, _):
        client = sdk_client(sim.url, GOLDEN_PUBLIC_KEY, GOLDEN_PRIVATE_KEY, region="cn-bj2")

        def invoke(args: dict[str, Any]) -> dict[str, Any]:
            answer: dict[str, Any] = client.invoke(ACTION, args)
            return answer

        seen = pages(invoke, "ImageSet", 7, BucketName="web")
        generated = pages(invoke, "ImageSet", 50, BucketName="big")
        keys = (GOLDEN_PUBLIC_KEY, GOLDEN_PRIVATE_KEY)
        other_project = sdk_client(sim.url, *keys, region="cn-bj2", project_id="org-other")
        other = other_project.invoke(ACTION, {"BucketName": "web"})
        with pytest.raises(RetCodeException) as failed:
            client.invoke(ACTION, {"BucketName": "nope"})
    assert [i["BucketName"] for i in seen] == [i.name for i in images(45)]
    assert [len(i["TagSet"]) for i in seen] == list(range(1, 46))
    for item in seen + generated:
        assert isinstance(item["BucketName"], str) and isinstance(item["UpdateTime"], int)
        assert isinstance(item["ResourceId"], str) and isinstance(item["OrgId"], str)
        assert all(isinstance(t["TagName"], str) and isinstance(t["CreateTime"], int)
                   for t in item["TagSet"])  # fmt: skip
    assert len(generated) == 120
    assert [i["OrgId"] for i in other["ImageSet"]] == ["org-other"]
    assert (failed.value.code, failed.value.message) == (43023, "BucketNotExistError")
    assert failed.value.retryable  # the SDK retries RetCodes above 2000: UGC's all are
