"""UCloud's official Python SDK (ucloud-sdk-python3) against our simulator and our client.

The SDK's own client, pointed at the simulator, lists regions (UAccount ``GetRegion``), pages
``GetImageBucketList`` with its generic ``invoke`` (it has no UGC service) and UHub's
``GetRepo``/``GetRepoImage``/``GetImageTag``: every answer the SDK has a schema for loads
through it, and what it sees equals what ``exporter.ucloud`` lists from the same simulator.
Then both clients' requests for the same parameters are caught on the wire (a recording
proxy in front of the simulator) and compared field by field.

Known differences, by design: the User-Agent; the SDK's ``U-Timestamp-Ms`` header (not
signed, not documented; ours sends none); the SDK configured with a region sends ``Region``
on every action, UHub's and GetRegion's included, where ours sends none (UHub is
cross-region; the simulator ignores it there). Not served by the simulator yet, so not held
against the SDK here: UAccount ``GetProjectList`` and STS ``AssumeRole``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from functools import partial
from typing import Any, TypeVar

import pytest
from ucloud.client import Client
from ucloud.core.typesystem.schema import Schema
from ucloud.services.uaccount.schemas import apis as uaccount
from ucloud.services.uhub.schemas import apis as uhub

from exporter.config import Account, Secret, UCloudSettings, UHubSettings
from exporter.simulator import (
    GOLDEN_PRIVATE_KEY,
    GOLDEN_PROJECT,
    GOLDEN_PUBLIC_KEY,
    UHUB_TIME_FORMATS,
    Simulator,
    golden_fleet,
)
from exporter.ucloud import (
    TRANSPORTS,
    UCloudClient,
    get_regions,
    list_image_buckets,
    list_registry,
    parse_time,
)
from tests.support.recorder import Recorded, Recorder

T = TypeVar("T")
REGIONS = ("cn-bj2", "cn-sh2", "hk")
ACCOUNT = Account(
    name="golden",
    public_key=GOLDEN_PUBLIC_KEY,
    private_key=Secret(GOLDEN_PRIVATE_KEY),
    project_id=GOLDEN_PROJECT,
    regions=REGIONS,
    uhub=True,
)
QUIET = logging.getLogger("tests.conformance.sdk")  # the SDK logs every request at INFO
QUIET.setLevel(logging.WARNING)
#: The SDK's schema of each answer it has one for (by the answer's Action).
SCHEMAS: dict[str, Schema] = {
    "GetRegionResponse": uaccount.GetRegionResponseSchema(),
    "GetRepoResponse": uhub.GetRepoResponseSchema(),
    "GetRepoImageResponse": uhub.GetRepoImageResponseSchema(),
    "GetImageTagResponse": uhub.GetImageTagResponseSchema(),
}
PROXIES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """requests (the SDK's transport) and httpx honour proxies: loopback goes direct."""
    for name in PROXIES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(golden_fleet()) as served:
        yield served


def sdk(url: str, **config: Any) -> Client:
    """The SDK's client for the golden account at ``url``: no retries, short timeouts."""
    return Client(
        {
            "base_url": url,
            "public_key": GOLDEN_PUBLIC_KEY,
            "private_key": GOLDEN_PRIVATE_KEY,
            "project_id": GOLDEN_PROJECT,
            "max_retries": 0,
            "timeout": 5,
            **config,
        },
        logger=QUIET,
    )


def required_missing(schema: Schema, raw: dict[str, Any], where: str = "") -> list[str]:
    """Name the fields ``schema`` marks required that ``raw`` lacks, nested sets included.

    The SDK's ``loads`` fills a missing field with nothing rather than fail, so loading alone
    would not notice an answer that leaves out what the SDK's model says is always there.
    """
    missing = []
    for name, field in schema.fields.items():
        key = field.load_from or name
        value = raw.get(key)
        if value is None:
            missing += [where + key] if field.required else []
        elif isinstance(getattr(field, "item", None), Schema) and isinstance(value, list):
            for i, item in enumerate(value):
                missing += required_missing(field.item, item, f"{where}{key}.{i}.")
    return missing


def watched(client: Client) -> list[dict[str, Any]]:
    """Return the list every answer ``client`` gets will be appended to, raw (before loading)."""
    answers: list[dict[str, Any]] = []

    def keep(data: dict[str, Any], response: Any = None) -> dict[str, Any]:
        answers.append(data)
        return data

    client.middleware.response(keep)
    return answers


def check_schemas(answers: list[dict[str, Any]]) -> None:
    """Every answer the SDK has a schema for carries every field the schema requires."""
    assert answers
    for raw in answers:
        assert raw["RetCode"] == 0, raw
        assert required_missing(SCHEMAS[raw["Action"]], raw) == [], raw["Action"]


def ours(url: str, job: Callable[[UCloudClient], Awaitable[T]], **settings: Any) -> T:
    """Run ``job`` with our client at ``url`` (no retries)."""

    async def go() -> T:
        client = UCloudClient(UCloudSettings(base_url=url, retries=0, **settings), http=http)
        try:
            return await job(client)
        finally:
            await client.aclose()

    http = settings.pop("http", TRANSPORTS[0])
    return asyncio.run(go())


def deadline() -> float:
    return time.monotonic() + 10


def _none(action: str, reason: str | None) -> None:
    """An Observer that records nothing."""


def pages(
    call: Callable[[dict[str, Any]], dict[str, Any]], key: str, limit: int, **args: Any
) -> list[Any]:
    """Page through a listing the plain way: ``Offset`` by ``Limit`` until a short page."""
    items: list[Any] = []
    for _ in range(1000):
        page = call({**args, "Offset": len(items), "Limit": limit})
        items += page[key]
        if len(page[key]) < limit:
            return items
    raise AssertionError(f"{key} never ended")


def test_sdk_reads_get_region_as_our_client_does(sim: Simulator) -> None:
    client = sdk(sim.url)
    answers = watched(client)
    answer = client.uaccount().get_region()
    check_schemas(answers)
    regions = answer["Regions"]
    assert regions, answer
    for entry in regions:  # loaded through RegionInfoSchema: every field, its type
        assert set(entry) == {"BitMaps", "IsDefault", "Region", "RegionId", "RegionName", "Zone"}
        assert isinstance(entry["IsDefault"], bool)
        assert isinstance(entry["RegionId"], int)
    found = ours(sim.url, lambda c: get_regions(c, ACCOUNT, deadline=deadline(), observe=_none))
    assert found == tuple(dict.fromkeys(e["Region"] for e in regions))
    assert set(found) == set(REGIONS)


@pytest.mark.parametrize("limit", [2, 100])
def test_sdk_pages_image_buckets_as_our_client_lists_them(sim: Simulator, limit: int) -> None:
    client = sdk(sim.url)

    def invoke(args: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = client.invoke("GetImageBucketList", args)
        return answer

    for region in REGIONS:
        seen = pages(invoke, "ImageSet", limit, Region=region, BucketType="All")
        listing = ours(
            sim.url,
            partial(
                list_image_buckets,
                account=ACCOUNT,
                region=region,
                deadline=deadline(),
                observe=_none,
            ),
            page_size=limit,
        )
        theirs = {
            (b["BucketName"], b["BucketType"].lower(), b["ImageCount"], b["CreateTime"])
            for b in seen
        }
        assert len(theirs) == len(seen)
        assert {tuple(b) for b in listing.buckets} == theirs, region
        assert listing.inconsistencies == frozenset()


@pytest.mark.parametrize("time_format", UHUB_TIME_FORMATS)
def test_sdk_loads_uhub_answers_and_sees_our_registry(time_format: str) -> None:
    fleet = golden_fleet()
    account = fleet.account(GOLDEN_PUBLIC_KEY)
    assert account is not None
    account.uhub_time_format = time_format
    with Simulator(fleet) as sim:
        client = sdk(sim.url)
        answers = watched(client)
        hub = client.uhub()
        repos: dict[str, dict[str, Any]] = {}
        for kind in ("private", "public"):  # a page of one: paging is exercised
            repos.update((r["RepoName"], r) for r in pages(hub.get_repo, "RepoSet", 1, Type=kind))
        images: dict[tuple[str, str], dict[str, Any]] = {}
        for name in repos:
            listed = pages(hub.get_repo_image, "ImageSet", 1, RepoName=name)
            images.update(((name, i["ImageName"]), i) for i in listed)
        tags: dict[tuple[str, str], int] = {}
        for repo, image in images:
            first = hub.get_image_tag({"RepoName": repo, "ImageName": image, "Limit": 1})
            listed = pages(hub.get_image_tag, "TagSet", 100, RepoName=repo, ImageName=image)
            assert len(listed) == first["TotalCount"]
            tags[repo, image] = first["TotalCount"]
        check_schemas(answers)
        registry = ours(
            sim.url,
            lambda c: list_registry(
                c, ACCOUNT, UHubSettings(tag_counts="all"), deadline=deadline(), observe=_none
            ),
        )
    assert {r.name: (r.shared, r.internet_access, r.images) for r in registry.repos} == {
        name: (
            r["IsShared"] == "true",
            r["IsOutSide"] == "true",
            sum(repo == name for repo, _ in images),
        )
        for name, r in repos.items()
    }
    assert {(i.repo, i.name): (i.pulls, i.updated, i.tags) for i in registry.images} == {
        key: (i["PullCount"], parse_time(i["UpdateTime"]), tags[key]) for key, i in images.items()
    }
    assert registry.invalid == {}
    assert registry.inconsistencies == frozenset()


def sent_by_sdk(recorder: Recorder, request: Recorded) -> Recorded:
    """Send what our ``request`` carried through the SDK, configured as a user would (region
    and project in the config, the action's own parameters as arguments); return its request."""
    form = request.form
    args = {k: v for k, v in form.items() if k not in ("PublicKey", "Signature", "Action")}
    config = {"region": args.pop("Region", None), "project_id": args.pop("ProjectId", None)}
    sdk(recorder.url, **config).invoke(form["Action"], args)
    (theirs,) = recorder.take()
    return theirs


@pytest.mark.parametrize("http", TRANSPORTS)
def test_our_requests_are_signed_and_encoded_as_the_sdks(sim: Simulator, http: str) -> None:
    odd = replace(ACCOUNT, name="odd", bucket_type="User", bucket_name="镜像 仓库/a+b&c=d~%20")

    async def everything(client: UCloudClient) -> None:
        await get_regions(client, ACCOUNT, deadline=deadline(), observe=_none)
        await list_image_buckets(client, ACCOUNT, "cn-bj2", deadline=deadline(), observe=_none)
        await list_image_buckets(client, odd, "cn-sh2", deadline=deadline(), observe=_none)
        settings = UHubSettings(tag_counts="all")
        await list_registry(client, ACCOUNT, settings, deadline=deadline(), observe=_none)

    with Recorder(sim.url) as recorder:
        ours(recorder.url, everything, page_size=4, http=http)
        mine = recorder.take()
        actions = {r.form["Action"] for r in mine}
        assert actions == {"GetRegion", "GetImageBucketList", "GetRepo", "GetRepoImage"} | {
            "GetImageTag"
        }
        assert any("BucketName" in r.form for r in mine)
        for request in mine:
            theirs = sent_by_sdk(recorder, request)
            assert (theirs.method, theirs.path) == (request.method, request.path) == ("POST", "/")
            ct = "content-type"
            assert theirs.headers[ct] == request.headers[ct] == "application/x-www-form-urlencoded"
            assert theirs.form == request.form  # Signature, PublicKey, ProjectId, Region, Action
            assert theirs.pairs == request.pairs  # and each field encoded byte for byte
            assert theirs.headers["user-agent"] != request.headers["user-agent"]
            assert "u-timestamp-ms" in theirs.headers
            assert "u-timestamp-ms" not in request.headers
    assert sim.request_count() == 2 * len(mine)  # every one answered (signature accepted)


def test_the_schema_check_sees_a_required_field_left_out() -> None:
    """What a UHub gateway may do (``PullCount`` 0 left out) is what the check is for."""
    raw = {"ImageSet": [{"ImageName": "a", "RepoName": "r", "CreateTime": "1", "UpdateTime": "1",
                         "LatestTag": "latest"}], "TotalCount": 1}  # fmt: skip
    assert required_missing(SCHEMAS["GetRepoImageResponse"], raw) == ["ImageSet.0.PullCount"]
    assert required_missing(SCHEMAS["GetRegionResponse"], {}) == []  # Regions is optional
