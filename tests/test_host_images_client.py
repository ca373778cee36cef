"""DescribeImage (ImageType=Custom) through our client (``list_host_images``): against gateways
on ``httpx.MockTransport`` (every field, the size unit, end-of-life dates, paging, lies, junk,
hostile sizes) and against the real simulator (its quirks and generated images)."""

from __future__ import annotations

import json
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from exporter.config import Secret
from exporter.simulator import (
    FIXED_EPOCH,
    GOLDEN_PRIVATE_KEY,
    GOLDEN_PROJECT,
    GOLDEN_PUBLIC_KEY,
    Account,
    Fleet,
    GeneratedHostImages,
    HostImage,
    Quirks,
    Simulator,
)
from exporter.ucloud import APIError, DecodeError, HostImages
from exporter.ucloud import HostImage as Listed
from exporter.ucloud._host_images import GIB, MAX_IMAGES, MAX_LIMIT, MAX_TEXT_CHARS, parse_eol
from tests.support.inprocess import ACCOUNT, host_images_over
from tests.support.sdk import no_proxy  # noqa: F401 (autouse fixture)

T0 = 1_700_000_000
#: 2027/04/30 at midnight UTC+08:00: 2027-04-29T16:00:00Z.
EOL_2027_04_30 = int(datetime(2027, 4, 29, 16, tzinfo=UTC).timestamp())
Answer = Callable[[httpx.Request], httpx.Response]


def form(request: httpx.Request) -> dict[str, str]:
    return dict(parse_qsl(request.content.decode()))


def entry(i: int, **fields: Any) -> dict[str, Any]:
    return {
        "ImageId": f"uimage-{i:05d}",
        "ImageName": f"custom-{i}",
        "Zone": "r-01",
        "OsType": "Linux",
        "OsName": "Ubuntu 22.04 64位",
        "ImageType": "Custom",
        "State": "Available",
        "ImageDescription": "",
        "CreateTime": T0 + i,
        "ImageSize": 20,
        "MaintainEol": "2027/04/30",
        "Features": [],
        "Tag": "Default",
        **fields,
    }


def gateway(
    items: list[Any],
    *,
    total: Any = "true",
    ignore_offset: bool = False,
    seen: list[dict[str, str]] | None = None,
) -> Answer:
    def answer(request: httpx.Request) -> httpx.Response:
        f = form(request)
        if seen is not None:
            seen.append(f)
        offset = 0 if ignore_offset else int(f["Offset"])
        body: dict[str, Any] = {"RetCode": 0, "ImageSet": items[offset : offset + int(f["Limit"])]}
        if total == "true":
            body["TotalCount"] = len(items)
        elif total is not None:
            body["TotalCount"] = total
        return httpx.Response(200, content=json.dumps(body).encode())

    return answer


# --- fields -------------------------------------------------------------------------------------


def test_every_field_and_the_request() -> None:
    seen: list[dict[str, str]] = []
    found = host_images_over(gateway([entry(1)], seen=seen))
    assert found == HostImages(
        (Listed("uimage-00001", "custom-1", "Ubuntu 22.04 64位", "Linux", "Available", T0 + 1,
                20 * GIB, EOL_2027_04_30, "r-01"),),
        {}, frozenset(), 1,
    )  # fmt: skip
    (sent,) = seen
    assert {k: sent[k] for k in ("Action", "Region", "ImageType", "Offset", "Limit")} == {
        "Action": "DescribeImage",
        "Region": "r",
        "ImageType": "Custom",
        "Offset": "0",
        "Limit": "100",
    }


def test_size_is_read_as_gigabytes_and_exported_in_bytes() -> None:
    # ASSUMPTION under test: ImageSize's unit is undocumented; it is read as GB (GiB).
    assert GIB == 1024**3
    found = host_images_over(gateway([entry(1, ImageSize=40), entry(2, ImageSize=0)]))
    assert [i.size_bytes for i in found.images] == [40 * 1024**3, 0]


@pytest.mark.parametrize("state", ["Available", "Making", "Unavailable", "Copying"])
def test_every_documented_state(state: str) -> None:
    (image,) = host_images_over(gateway([entry(1, State=state)])).images
    assert image.state == state


@pytest.mark.parametrize(
    ("eol", "expected", "invalid"),
    [
        ("2027/04/30", EOL_2027_04_30, 0),
        (" 2027/04/30 ", EOL_2027_04_30, 0),
        ("2024/02/29", int(datetime(2024, 2, 28, 16, tzinfo=UTC).timestamp()), 0),
        ("", None, 0),  # unknown, as UCloud writes it
        (None, None, 0),
        ("2027-04-30", None, 1),
        ("2027/4/30", None, 1),
        ("2027/13/01", None, 1),
        ("2023/02/29", None, 1),
        ("2027/04/31", None, 1),
        ("0000/01/01", None, 1),
        ("soon", None, 1),
        (20270430, None, 1),
        (["2027/04/30"], None, 1),
    ],
)
def test_end_of_life_dates(eol: Any, expected: int | None, invalid: int) -> None:
    item = entry(1, MaintainEol=eol)
    if eol is None:
        del item["MaintainEol"]
    found = host_images_over(gateway([item]))
    assert found.images[0].eol == expected
    assert found.invalid == ({"MaintainEol": 1} if invalid else {})


def test_parse_eol_is_midnight_in_utc_plus_eight() -> None:
    assert parse_eol("1970/01/02") == 16 * 3600
    assert parse_eol("9999/12/31") is not None
    assert parse_eol("2027/04/30\n") == EOL_2027_04_30


def test_missing_and_malformed_fields() -> None:
    items = [
        {"ImageId": "uimage-bare"},
        entry(2, ImageName=7, OsName="", OsType=None, State="Deleting", CreateTime="later",
              ImageSize=-1, Zone=[]),
        entry(3, ImageSize=True, State=1),
        {"ImageName": "no-id"}, {"ImageId": ""}, 5, "x",
    ]  # fmt: skip
    found = host_images_over(gateway(items, total=None))
    assert found.images[0] == Listed("uimage-bare", None, None, None, "unknown", None, None,
                                     None, None)  # fmt: skip
    assert found.images[1].state == "unknown" and found.images[1].size_bytes is None
    assert [i.id for i in found.images] == ["uimage-bare", "uimage-00002", "uimage-00003"]
    assert found.invalid == {
        "ImageName": 2, "OsName": 2, "OsType": 2, "State": 3, "CreateTime": 2,
        "ImageSize": 3, "Zone": 2, "ImageId": 2, "entry": 2,
    }  # fmt: skip


def test_text_is_cleaned_and_cut() -> None:
    items = [entry(1, ImageName="a\ud800b", OsName="o" * 10_000), entry(2, ImageId="i" * 300)]
    found = host_images_over(gateway(items, total=None))
    (image,) = found.images
    assert image.name == "a\ufffdb" and image.os_name == "o" * MAX_TEXT_CHARS
    assert found.invalid == {"ImageId": 1}


def test_a_duplicate_id_is_one_image() -> None:
    found = host_images_over(gateway([entry(1), entry(1, ImageName="again"), entry(2)]))
    assert [(i.id, i.name) for i in found.images] == [("uimage-00001", "custom-1"),
                                                      ("uimage-00002", "custom-2")]  # fmt: skip


# --- paging -------------------------------------------------------------------------------------


@pytest.mark.parametrize("page_size", [1, 3, 100, 1000])
def test_paging_reaches_every_image(page_size: int) -> None:
    seen: list[dict[str, str]] = []
    found = host_images_over(gateway([entry(i) for i in range(31)], seen=seen),
                             page_size=page_size)  # fmt: skip
    assert [i.id for i in found.images] == [f"uimage-{i:05d}" for i in range(31)]
    assert {int(f["Limit"]) for f in seen} == {min(page_size, MAX_LIMIT)}
    assert found.inconsistencies == frozenset()


@pytest.mark.parametrize(
    ("options", "count", "kinds"),
    [
        ({"total": 500}, 31, {"total_ahead"}),
        ({"total": None}, 31, set()),
        ({"total": 0}, 10, set()),
        ({"ignore_offset": True}, 10, {"repeated_page"}),
    ],
)
def test_lies_end_the_listing_without_failing(
    options: dict[str, Any], count: int, kinds: set[str]
) -> None:
    found = host_images_over(gateway([entry(i) for i in range(31)], **options), page_size=10)
    assert (len(found.images), found.inconsistencies) == (count, frozenset(kinds))
    assert found.requests <= 5


def test_errors_propagate() -> None:
    answer = {"RetCode": 230, "Message": "Params [Region] not valid"}
    with pytest.raises(APIError) as raised:
        host_images_over(lambda r: httpx.Response(200, json=answer))
    assert raised.value.code == 230
    with pytest.raises(DecodeError):
        host_images_over(lambda r: httpx.Response(200, json={"RetCode": 0, "ImageSet": {}}))


# --- hostile answers ----------------------------------------------------------------------------


def test_a_hundred_thousand_images_are_capped_in_time_and_memory() -> None:
    items = [entry(i) for i in range(100_000)]
    body = json.dumps({"RetCode": 0, "TotalCount": 100_000, "ImageSet": items}).encode()
    del items
    tracemalloc.start()
    began = time.monotonic()
    try:
        found = host_images_over(
            lambda r: httpx.Response(200, content=body),
            max_response_bytes=128 * 1024 * 1024,
            budget=30,
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.monotonic() - began < 20
    assert len(found.images) == MAX_IMAGES and found.truncated and found.requests == 1
    assert peak < 600 * 1024 * 1024


def test_a_ten_megabyte_name_is_cut() -> None:
    body = {"RetCode": 0, "TotalCount": 1, "ImageSet": [entry(1, ImageName="n" * 10_000_000)]}
    found = host_images_over(
        lambda r: httpx.Response(200, json=body), max_response_bytes=32 * 1024 * 1024
    )
    assert found.images[0].name == "n" * MAX_TEXT_CHARS


# --- against the simulator ----------------------------------------------------------------------

SIM_ACCOUNT = replace(
    ACCOUNT,
    public_key=GOLDEN_PUBLIC_KEY,
    private_key=Secret(GOLDEN_PRIVATE_KEY),
    project_id=GOLDEN_PROJECT,
)
GOLDEN_IMAGE = HostImage("uimage-abc", "base-2024", T0, "Ubuntu 22.04", "Linux", "Unavailable",
                         40, "2027/04/30", "cn-gd-02", "golden image")  # fmt: skip


def sim_fleet(quirks: Quirks | None = None, generated: int = 45) -> Fleet:
    owner = Account(GOLDEN_PUBLIC_KEY, GOLDEN_PRIVATE_KEY, {GOLDEN_PROJECT}, {"cn-bj2": []})
    owner.host_images = {
        "cn-bj2": GeneratedHostImages(generated, "cn-bj2", FIXED_EPOCH),
        "cn-gd": [GOLDEN_IMAGE, HostImage("uimage-new", "fresh", T0, maintain_eol="")],
    }
    owner.regions["cn-gd"] = []
    if quirks is not None:
        owner.action_quirks = {"DescribeImage": {"cn-bj2": quirks}}
    return Fleet([owner])


@pytest.mark.e2e
def test_the_simulators_images_every_field() -> None:
    with Simulator(sim_fleet()) as sim:
        gd = host_images_over(sim.url, account=SIM_ACCOUNT, region="cn-gd")
        bj2 = host_images_over(sim.url, account=SIM_ACCOUNT, region="cn-bj2", page_size=7)
        with pytest.raises(APIError):
            host_images_over(sim.url, account=SIM_ACCOUNT, region="nowhere")
    assert gd.images == (
        Listed("uimage-abc", "base-2024", "Ubuntu 22.04", "Linux", "Unavailable", T0, 40 * GIB,
               EOL_2027_04_30, "cn-gd-02"),
        Listed("uimage-new", "fresh", "CentOS 7.9 64位", "Linux", "Available", T0, 20 * GIB,
               None, "cn-gd-01"),
    )  # fmt: skip
    assert gd.invalid == {} and bj2.invalid == {}
    assert len(bj2.images) == 45 and bj2.inconsistencies == frozenset()
    assert bj2.images[6].state == "Making" and bj2.images[3].size_bytes == 40 * GIB


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("quirks", "count", "kinds"),
    [
        (Quirks(total_count=3), 10, set()),
        (Quirks(total_count=1000), 45, {"total_ahead"}),
        (Quirks(omit_total=True), 45, set()),
        (Quirks(ignore_offset=True), 10, {"repeated_page"}),
        (Quirks(ignore_limit=True), 45, {"oversized_page"}),
        (Quirks(page_entries=4), 45, set()),
        (Quirks(omit_fields=("MaintainEol", "ImageSize")), 45, set()),
        (Quirks(omit_zero=True), 45, set()),
    ],
)
def test_every_simulator_quirk(quirks: Quirks, count: int, kinds: set[str]) -> None:
    with Simulator(sim_fleet(quirks)) as sim:
        found = host_images_over(sim.url, account=SIM_ACCOUNT, region="cn-bj2", page_size=10)
    assert len(found.images) == count
    assert found.inconsistencies == kinds
    assert found.requests <= 12
    if quirks.omit_fields:
        assert found.invalid == {"ImageSize": 45}  # an absent MaintainEol is unknown, not bad
        assert {i.size_bytes for i in found.images} == {None}
