"""The simulated gateway's UHost DescribeImage: custom host images of a project's region over
loopback HTTP, their fields, filters, paging, quirks, errors, generated images, fleet files,
the demo fleet and the official Python SDK's ``uhost`` client loading the answers."""

from __future__ import annotations

import textwrap
import time
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import yaml

from exporter.simulator import (
    DEMO_ACCOUNTS,
    DEMO_PROJECT,
    FIXED_EPOCH,
    GOLDEN_PRIVATE_KEY,
    GOLDEN_PROJECT,
    GOLDEN_PUBLIC_KEY,
    HOST_IMAGE_ACTIONS,
    Account,
    Bucket,
    Fault,
    GeneratedHostImages,
    HostImage,
    ProjectData,
    Quirks,
    demo_fleet,
    eol_date,
    fleet_from_dict,
    fleetfile,
)
from tests.support.images import ask, fleet_file, serving, walk
from tests.support.sdk import (  # noqa: F401 (no_proxy: autouse fixture)
    check_schemas,
    no_proxy,
    pages,
    sdk_client,
    watched,
)

ACTION = "DescribeImage"
FIELDS = {
    "ImageId", "ImageName", "Zone", "OsType", "OsName", "ImageType", "State",
    "ImageDescription", "CreateTime", "ImageSize", "MaintainEol", "Features",
    "DataSnapshotIds", "MinimalCPU", "Tag",
}  # fmt: skip
T0 = 1_700_000_000
CST = timezone(timedelta(hours=8))
DAY = 86_400


def host_images() -> list[HostImage]:
    """25 images: ``img-00`` ... (every fifth Windows in zone cn-bj2-02), then one of each
    state but Available, with odd sizes and dates."""
    made = [
        HostImage(f"uimage-{k:02d}", f"img-{k:02d}", T0 - k * DAY,
                  *(("Windows 2019", "Windows") if k % 5 == 4 else ("CentOS 7.9", "Linux")),
                  size=20 + k, maintain_eol="2030/06/30", zone="cn-bj2-02" if k % 5 == 4 else "")
        for k in range(21)
    ]  # fmt: skip
    made += [
        HostImage("uimage-making", "making", T0, state="Making", size=0),
        HostImage("uimage-broken", "broken", T0, state="Unavailable", description="disk lost"),
        HostImage("uimage-copying", "copying", T0, state="Copying", maintain_eol=""),
        HostImage("uimage-eol", "eol", T0, os_name="CentOS 6.10", maintain_eol="2020/11/30"),
    ]
    return made


def account(**quirks: Quirks) -> Account:
    """The golden key pair: cn-bj2 holds ``host_images()``, hk no image (buckets only), sg 3000
    generated; a second project has one image in cn-bj2."""
    owner = Account(
        GOLDEN_PUBLIC_KEY,
        GOLDEN_PRIVATE_KEY,
        {GOLDEN_PROJECT},
        {"cn-bj2": [], "hk": [Bucket("b", "Private", 1, T0)], "sg": []},
    )
    owner.host_images = {"cn-bj2": host_images(), "sg": GeneratedHostImages(3000, "sg", T0)}
    owner.action_quirks = {ACTION: dict(quirks)} if quirks else {}
    other = ProjectData("org-other", host_images={"cn-bj2": [HostImage("uimage-x", "x", T0)]})
    owner.extra_projects = [other]
    return owner


def ids(body: dict[str, Any]) -> list[str]:
    return [i["ImageId"] for i in body["ImageSet"]]


# --- fields, filters and paging ----------------------------------------------------------------


@pytest.mark.e2e
def test_fields_of_an_image_and_the_default_page() -> None:
    with serving(account()) as (_, http):
        body = ask(http, ACTION, Region="cn-bj2", ImageType="Custom")
    assert (body["RetCode"], body["Action"], body["TotalCount"]) == (0, f"{ACTION}Response", 25)
    assert len(body["ImageSet"]) == 20  # Limit defaults to 20
    assert all(set(item) == FIELDS for item in body["ImageSet"])
    assert body["ImageSet"][4] == {
        "ImageId": "uimage-04", "ImageName": "img-04", "Zone": "cn-bj2-02",
        "OsType": "Windows", "OsName": "Windows 2019", "ImageType": "Custom",
        "State": "Available", "ImageDescription": "", "CreateTime": T0 - 4 * DAY,
        "ImageSize": 24, "MaintainEol": "2030/06/30", "Features": [], "DataSnapshotIds": [],
        "MinimalCPU": "", "Tag": "Default",
    }  # fmt: skip
    assert body["ImageSet"][0]["Zone"] == "cn-bj2-01"  # zone "": the region's first


@pytest.mark.e2e
def test_every_state_and_a_walk_through_every_page() -> None:
    with serving(account()) as (_, http):
        walked = walk(http, ACTION, limit=6, Region="cn-bj2", ImageType="Custom")
        tail = ask(http, ACTION, Region="cn-bj2", Offset=21, Limit=10)
        assert ask(http, ACTION, Region="cn-bj2", Limit=0)["ImageSet"] == []
        assert ask(http, ACTION, Region="cn-bj2", Offset=99)["ImageSet"] == []
    assert [i["ImageId"] for i in walked] == [i.id for i in host_images()]
    assert [i["State"] for i in tail["ImageSet"]] == [
        "Making",
        "Unavailable",
        "Copying",
        "Available",
    ]
    assert [i["MaintainEol"] for i in tail["ImageSet"]] == ["", "", "", "2020/11/30"]
    assert tail["ImageSet"][0]["ImageSize"] == 0


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, 25),  # no ImageType: every type, and the simulator holds custom images only
        ({"ImageType": "Custom"}, 25),
        ({"ImageType": "Base"}, 0),
        ({"ImageType": "Business"}, 0),
        ({"OsType": "Windows"}, 4),
        ({"OsType": "Linux", "ImageType": "Custom"}, 21),
        ({"Zone": "cn-bj2-02"}, 4),
        ({"Zone": "cn-bj2-01", "OsType": "Windows"}, 0),
        ({"ImageId": "uimage-broken"}, 1),
        ({"ImageId": "uimage-nope"}, 0),
        ({"ImageIds.0": "uimage-01", "ImageIds.1": "uimage-eol"}, 2),
        ({"PriceSet": "1", "Tag": "Default", "FuncType": "uhost"}, 25),  # accepted, ignored
    ],
)
def test_filters(params: dict[str, Any], expected: int) -> None:
    with serving(account()) as (_, http):
        body = ask(http, ACTION, Region="cn-bj2", Limit=100, **params)
    assert (body["RetCode"], body["TotalCount"], len(body["ImageSet"])) == (0, expected, expected)


@pytest.mark.e2e
def test_projects_and_regions() -> None:
    with serving(account()) as (_, http):
        other = ask(http, ACTION, Region="cn-bj2", ProjectId="org-other")
        default = ask(http, ACTION, Region="cn-bj2", ProjectId=GOLDEN_PROJECT, Limit=1)
        empty = ask(http, ACTION, Region="hk", ImageType="Custom")
        generated = ask(http, ACTION, Region="sg", Offset=2998)
    assert ids(other) == ["uimage-x"] and other["TotalCount"] == 1
    assert ids(default) == ["uimage-00"]
    assert (empty["RetCode"], empty["TotalCount"], empty["ImageSet"]) == (0, 0, [])
    assert ids(generated) == ["uimage-sg-02999", "uimage-sg-03000"]
    assert generated["TotalCount"] == 3000


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "Missing params [Region]"),
        ({"Region": "cn-gd"}, "Params [Region] not valid"),
        ({"Region": "cn-bj2", "ImageType": "custom"}, "Params [ImageType] not valid"),
        ({"Region": "cn-bj2", "OsType": "Mac"}, "Params [OsType] not valid"),
        ({"Region": "cn-bj2", "Offset": "x"}, "Params [Offset] not valid"),
        ({"Region": "cn-bj2", "Limit": "-5"}, "Params [Limit] not valid"),
    ],
)
def test_errors(params: dict[str, Any], message: str) -> None:
    with serving(account()) as (_, http):
        body = ask(http, ACTION, **params)
    assert body == {"RetCode": 230, "Action": f"{ACTION}Response", "Message": message}


# --- quirks ------------------------------------------------------------------------------------


@pytest.mark.e2e
def test_region_quirks_shape_the_image_listing() -> None:
    odd = Quirks(total_count=7, ignore_offset=True, page_entries=3, omit_fields=("MaintainEol",))
    with serving(account(**{"cn-bj2": odd})) as (_, http):
        body = ask(http, ACTION, Region="cn-bj2", Offset=10, Limit=20)
        sg = ask(http, ACTION, Region="sg", Offset=10, Limit=2)
    assert body["TotalCount"] == 7
    assert ids(body) == ["uimage-00", "uimage-01", "uimage-02"]
    assert all("MaintainEol" not in i and "ImageSize" in i for i in body["ImageSet"])
    assert (sg["TotalCount"], ids(sg)) == (3000, ["uimage-sg-00011", "uimage-sg-00012"])


@pytest.mark.e2e
def test_fault_quirks_omit_zero_and_the_total() -> None:
    with serving(account()) as (sim, http):
        sim.add_fault(Fault(quirks=Quirks(omit_total=True, omit_zero=True)), action=ACTION)
        body = ask(http, ACTION, Region="cn-bj2", ImageId="uimage-making")
        assert sim.request_count(action=ACTION, region="cn-bj2") == 1
    assert "TotalCount" not in body
    assert "ImageSize" not in body["ImageSet"][0] and body["ImageSet"][0]["State"] == "Making"


@pytest.mark.e2e
def test_quirks_delay_and_a_region_fault() -> None:
    with serving(account(sg=Quirks(delay_seconds=0.3))) as (sim, http):
        began = time.monotonic()
        assert ask(http, ACTION, Region="sg")["RetCode"] == 0
        assert time.monotonic() - began >= 0.3
        sim.add_fault(Fault(retcode=8000, message="internal"), region="cn-bj2", action=ACTION)
        assert ask(http, ACTION, Region="cn-bj2")["RetCode"] == 8000
        assert ask(http, ACTION, Region="sg", Limit=1)["RetCode"] == 0


# --- data --------------------------------------------------------------------------------------


def test_generated_host_images() -> None:
    made = GeneratedHostImages(14, "hk", T0)
    assert len(made) == 14 and made[0].id == "uimage-hk-00001" and made[0].name == "custom-00001"
    assert [i.create_time for i in made[:3]] == [T0, T0 - DAY, T0 - 2 * DAY]
    assert [i.state for i in made].count("Making") == 2 and made[6].state == "Making"
    assert [(i.os_type, i.size) for i in made[2:4]] == [("Linux", 20), ("Windows", 40)]
    assert all(i.maintain_eol == "" for i in made)
    with pytest.raises(IndexError):
        made[-15]
    with pytest.raises(ValueError, match="count must be >= 0"):
        GeneratedHostImages(-1, "hk", T0)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [({"state": "Deleted"}, "state must be one of"), ({"os_type": "linux"}, "os_type must be"),
     ({"size": -1}, "size must be >= 0")],
)  # fmt: skip
def test_host_image_rejects_what_describe_image_never_reports(
    kwargs: dict[str, Any], error: str
) -> None:
    with pytest.raises(ValueError, match=error):
        HostImage("i", "n", T0, **kwargs)


def test_eol_date_is_the_date_at_utc_plus_8() -> None:
    assert eol_date(1_735_660_800) == "2025/01/01"  # 2024-12-31T16:00:00Z is midnight at +08
    assert eol_date(1_735_660_799) == "2024/12/31"


# --- fleet files and the demo fleet ------------------------------------------------------------


@pytest.mark.e2e
def test_fleet_file_host_images() -> None:
    listed = [
        {"id": "uimage-a", "name": "base", "create_time": T0, "os_name": "Ubuntu 22.04",
         "os_type": "Linux", "state": "Unavailable", "size": 40, "maintain_eol": "2027/04/30",
         "zone": "cn-bj2-03", "description": "golden"},
        {"id": "uimage-b"},
    ]  # fmt: skip
    quirks = {ACTION: {"omit_fields": ["ImageSize"], "total_count": 1}}
    raw = fleet_file(host_images=listed, action_quirks=quirks)
    raw["accounts"][0]["regions"]["hk"] = {"host_images": 12}
    with serving(fleet_from_dict(raw)) as (_, http):
        bj2 = ask(http, ACTION, Region="cn-bj2")
        hk = ask(http, ACTION, Region="hk", Limit=100)
    first, second = bj2["ImageSet"]
    assert bj2["TotalCount"] == 1  # the quirk's lie
    assert first == {
        "ImageId": "uimage-a", "ImageName": "base", "Zone": "cn-bj2-03", "OsType": "Linux",
        "OsName": "Ubuntu 22.04", "ImageType": "Custom", "State": "Unavailable",
        "ImageDescription": "golden", "CreateTime": T0, "MaintainEol": "2027/04/30",
        "Features": [], "DataSnapshotIds": [], "MinimalCPU": "", "Tag": "Default",
    }  # fmt: skip
    assert (second["ImageName"], second["CreateTime"], second["State"]) == (
        "",
        FIXED_EPOCH,
        "Available",
    )
    assert hk["TotalCount"] == 12 and ids(hk)[0] == "uimage-hk-00001"


@pytest.mark.parametrize(
    ("region", "error"),
    [
        ({"host_images": "some"}, r"cn-bj2\.host_images: must be a list or a number"),
        ({"host_images": -3}, r"host_images: must be 0 to"),
        ({"host_images": [{"name": "x"}]}, r"host_images\[0\]\.id: must be a non-empty string"),
        ({"host_images": [{"id": "a", "state": "Gone"}]}, r"host_images\[0\]: state must be"),
        ({"host_images": [{"id": "a", "os": "x"}]}, r"host_images\[0\]\.os: unknown field"),
        ({"host_images": [{"id": "a"}, {"id": "a"}]}, r"host_images: id 'a' is listed twice"),
        ({"host_images": [{"id": "a", "size": -1}]}, r"size: must be a non-negative integer"),
        ({"action_quirks": {ACTION: {"later": 1}}}, r"action_quirks\.DescribeImage\.later"),
    ],
)
def test_fleet_file_mistakes_name_their_key(region: dict[str, Any], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        fleet_from_dict(fleet_file(**region))


def test_the_documented_fleet_file_has_both_kinds_of_image() -> None:
    doc = fleetfile.__doc__ or ""
    example = yaml.safe_load(textwrap.dedent(doc.split("::\n\n", 1)[1].split("\n\n", 1)[0]))
    fleet = fleet_from_dict(example)
    with fleet.locked("hostile-public-key") as owner:
        gd = owner.regions["cn-gd"]
        (image,) = owner.host_images["cn-gd"]
        quirks = owner.action_quirks
    by_name = {b.name: b for b in gd}
    assert len(by_name["bucket-00001"].docker_images) == 50
    assert [i.name for i in by_name["web"].docker_images] == ["frontend", "worker"]
    assert len(by_name["big"].docker_images) == 600 and by_name["gone"].vanished
    assert (image.id, image.state, image.size, image.maintain_eol) == (
        "uimage-abc", "Unavailable", 40, "2027/04/30")  # fmt: skip
    assert quirks["GetDockerImageList"]["cn-gd"] == Quirks(name_key="both", ignore_offset=True)
    assert quirks[ACTION]["cn-gd"] == Quirks(total_count=3, omit_fields=("MaintainEol",))


def eol_days(image: HostImage, now: int) -> float:
    """Days from ``now`` to midnight UTC+08:00 of the image's ``MaintainEol``."""
    when = datetime.strptime(image.maintain_eol, "%Y/%m/%d").replace(tzinfo=CST)
    return (when.timestamp() - now) / DAY


@pytest.mark.e2e
@pytest.mark.parametrize("now", [FIXED_EPOCH, None])
def test_the_demo_fleet_is_near_its_quota_and_an_eol(now: int | None) -> None:
    fleet = demo_fleet(now=now)
    today = int(datetime.now(UTC).timestamp()) // DAY * DAY if now is None else now
    with fleet.locked(DEMO_ACCOUNTS[0][1]) as main:
        mine = dict(main.host_images)
    with fleet.locked(DEMO_ACCOUNTS[1][1]) as staging:
        theirs = dict(staging.host_images)
    assert {r: len(i) for r, i in mine.items()} == {"cn-bj2": 6, "cn-sh2": 3, "hk": 9}
    assert {r: len(i) for r, i in theirs.items()} == {"cn-gd": 2}
    every = [i for images in (*mine.values(), *theirs.values()) for i in images]
    soon = [i for i in every if eol_days(i, today) <= 30]
    assert len(soon) == 1 and 0 < eol_days(soon[0], today) <= 30
    assert soon[0] is mine["cn-bj2"][0]
    assert {i.state for i in every} == {"Available", "Making"}  # nothing Unavailable
    assert len({i.id for i in every}) == len(every)
    with serving(fleet) as (_, http):
        keys = (DEMO_ACCOUNTS[0][1], DEMO_ACCOUNTS[0][2])
        hk = ask(http, ACTION, keys=keys, Region="hk", ImageType="Custom")
    assert hk["TotalCount"] == 9 and {i["ImageType"] for i in hk["ImageSet"]} == {"Custom"}
    assert demo_fleet(now=FIXED_EPOCH).account(DEMO_ACCOUNTS[0][1]) is not None
    assert DEMO_PROJECT and HOST_IMAGE_ACTIONS == (ACTION,)


# --- the official SDK --------------------------------------------------------------------------


@pytest.mark.e2e
def test_the_sdks_uhost_client_loads_every_page() -> None:
    """The SDK's ``uhost().describe_image`` loads each answer through its schema
    (UHostImageSet); each carries every field the schema requires, and the SDK sees exactly the
    region's custom images, of the schema's types."""
    with serving(account()) as (sim, _):
        client = sdk_client(sim.url, GOLDEN_PUBLIC_KEY, GOLDEN_PRIVATE_KEY, region="cn-bj2")
        raw = watched(client)
        host = client.uhost()
        seen = pages(host.describe_image, "ImageSet", 4, ImageType="Custom")
        windows = host.describe_image({"ImageType": "Custom", "OsType": "Windows", "Limit": 100})
        chosen = host.describe_image({"ImageIds": ["uimage-eol", "uimage-02"]})
        other = sdk_client(sim.url, GOLDEN_PUBLIC_KEY, GOLDEN_PRIVATE_KEY, region="cn-bj2",
                           project_id="org-other").uhost().describe_image({})  # fmt: skip
    check_schemas(raw)
    assert [i["ImageId"] for i in seen] == [i.id for i in host_images()]
    by_id = {i.id: i for i in host_images()}
    for item in seen:
        image = by_id[item["ImageId"]]
        assert (item["ImageName"], item["OsName"], item["OsType"], item["State"]) == (
            image.name, image.os_name, image.os_type, image.state)  # fmt: skip
        assert (item["CreateTime"], item["ImageSize"], item["MaintainEol"]) == (
            image.create_time, image.size, image.maintain_eol)  # fmt: skip
        assert isinstance(item["CreateTime"], int) and isinstance(item["ImageSize"], int)
        assert item["ImageType"] == "Custom" and item["Features"] == []
    assert windows["TotalCount"] == 4
    assert sorted(i["ImageId"] for i in chosen["ImageSet"]) == ["uimage-02", "uimage-eol"]
    assert [i["ImageId"] for i in other["ImageSet"]] == ["uimage-x"]
