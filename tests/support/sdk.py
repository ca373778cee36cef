"""UCloud's official Python SDK (ucloud-sdk-python3) beside our client: what the conformance
tests share. The SDK's client for a gateway URL, its answers kept raw and checked against the
SDK's schemas, plain paging, our client run against the same URL, and the SDK sending what
one of our recorded requests carried.

``no_proxy`` is a fixture (import it into a test module, it is autouse there): requests (the
SDK's transport) and httpx honour proxy variables, and loopback must go direct.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

import pytest
from ucloud.client import Client
from ucloud.core.typesystem.schema import Schema
from ucloud.services.uaccount.schemas import apis as uaccount
from ucloud.services.uhost.schemas import apis as uhost
from ucloud.services.uhub.schemas import apis as uhub

from exporter.config import Account, Secret, UCloudSettings
from exporter.simulator import GOLDEN_PRIVATE_KEY, GOLDEN_PROJECT, GOLDEN_PUBLIC_KEY
from exporter.ucloud import (
    TRANSPORTS,
    Listing,
    Registry,
    UCloudClient,
    list_image_buckets,
    parse_time,
)
from tests.support.recorder import Recorded, Recorder

T = TypeVar("T")
QUIET = logging.getLogger("tests.conformance.sdk")  # the SDK logs every request at INFO
QUIET.setLevel(logging.WARNING)
#: The SDK's schema of each answer it has one for (by the answer's Action).
SCHEMAS: dict[str, Schema] = {
    "GetRegionResponse": uaccount.GetRegionResponseSchema(),
    "GetProjectListResponse": uaccount.GetProjectListResponseSchema(),
    "GetRepoResponse": uhub.GetRepoResponseSchema(),
    "GetRepoImageResponse": uhub.GetRepoImageResponseSchema(),
    "GetImageTagResponse": uhub.GetImageTagResponseSchema(),
    "DescribeImageResponse": uhost.DescribeImageResponseSchema(),
}
PROXIES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Loopback goes direct: no proxy variables while a test runs."""
    for name in PROXIES:
        monkeypatch.delenv(name, raising=False)
    yield


def golden_account(**fields: Any) -> Account:
    """The simulator's golden account (project ``GOLDEN_PROJECT``, region cn-bj2) as
    configured for our client; ``fields`` override Account fields."""
    return Account(
        **{
            "name": "golden",
            "public_key": GOLDEN_PUBLIC_KEY,
            "private_key": Secret(GOLDEN_PRIVATE_KEY),
            "project_id": GOLDEN_PROJECT,
            "regions": ("cn-bj2",),
            **fields,
        }
    )


def sdk_client(url: str, public_key: str, private_key: str, **config: Any) -> Client:
    """The SDK's client for a key pair at ``url``: no retries, short timeouts; ``config``
    adds or overrides the SDK's settings (``project_id``, ``region``: None leaves it out)."""
    return Client(
        {
            "base_url": url,
            "public_key": public_key,
            "private_key": private_key,
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
    """Run ``job`` with our client at ``url`` (no retries; ``http``: the transport)."""

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


def unobserved(action: str, reason: str | None) -> None:
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


def sdk_buckets(client: Client, region: str, limit: int) -> set[tuple[str, str, int, int]]:
    """Every bucket the SDK pages out of one region with its generic ``invoke`` (it has no
    UGC service), as (name, type in lower case, images, create time); none seen twice."""

    def invoke(args: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = client.invoke("GetImageBucketList", args)
        return answer

    seen = pages(invoke, "ImageSet", limit, Region=region, BucketType="All")
    found = {
        (b["BucketName"], b["BucketType"].lower(), b["ImageCount"], b["CreateTime"]) for b in seen
    }
    assert len(found) == len(seen)
    return found


def our_listing(
    url: str, account: Account, region: str, *, page_size: int, project: str | None = None
) -> Listing:
    """List one region of ``account`` (its ``project``: None, the account's ``project_id``)
    with our client at ``url``, ``page_size`` buckets a page."""
    job = partial(
        list_image_buckets,
        account=account,
        region=region,
        deadline=deadline(),
        observe=unobserved,
        project=project,
    )
    return ours(url, job, page_size=page_size)


def assert_same_buckets(listing: Listing, seen: set[tuple[str, str, int, int]]) -> None:
    """Our ``listing`` holds exactly the buckets the SDK ``seen``, and found nothing odd."""
    assert {tuple(b) for b in listing.buckets} == seen
    assert listing.inconsistencies == frozenset()


def sdk_docker_images(
    client: Client, region: str, bucket: str, limit: int
) -> dict[str, tuple[int, int | None, int | None, int]]:
    """Every Docker image the SDK pages out of ``bucket`` with its generic ``invoke`` (it has
    no UGC service), by name: (tags, newest and oldest tag CreateTime, UpdateTime)."""

    def invoke(args: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = client.invoke("GetDockerImageList", args)
        return answer

    seen = pages(invoke, "ImageSet", limit, Region=region, BucketName=bucket)
    found = {}
    for image in seen:
        times = [t["CreateTime"] for t in image["TagSet"]]
        name = image.get("BucketName", image.get("ImageName"))
        found[name] = (len(times), max(times, default=None), min(times, default=None),
                       image["UpdateTime"])  # fmt: skip
    assert len(found) == len(seen)
    return found


def sdk_host_images(client: Client, limit: int) -> dict[str, dict[str, Any]]:
    """Every custom host image the SDK's ``uhost().describe_image`` pages out of ``client``'s
    region, loaded through its schema, by ImageId."""
    seen = pages(client.uhost().describe_image, "ImageSet", limit, ImageType="Custom")
    found = {i["ImageId"]: i for i in seen}
    assert len(found) == len(seen)
    return found


@dataclass(frozen=True)
class SdkRegistry:
    """What the SDK lists of a UHub registry, raw: repositories by name, images by (repository,
    image), tag counts by (repository, image)."""

    repos: dict[str, dict[str, Any]]
    images: dict[tuple[str, str], dict[str, Any]]
    tags: dict[tuple[str, str], int]


def sdk_registry(client: Client, *, tag_page: int = 100) -> SdkRegistry:
    """List a registry with the SDK's UHub service (``client``'s project): repositories and
    images a page of one (paging exercised), tags ``tag_page`` at a time."""
    hub = client.uhub()
    repos: dict[str, dict[str, Any]] = {}
    for kind in ("private", "public"):
        repos.update((r["RepoName"], r) for r in pages(hub.get_repo, "RepoSet", 1, Type=kind))
    images: dict[tuple[str, str], dict[str, Any]] = {}
    for name in repos:
        listed = pages(hub.get_repo_image, "ImageSet", 1, RepoName=name)
        images.update(((name, i["ImageName"]), i) for i in listed)
    tags: dict[tuple[str, str], int] = {}
    for repo, image in images:
        first = hub.get_image_tag({"RepoName": repo, "ImageName": image, "Limit": 1})
        listed = pages(hub.get_image_tag, "TagSet", tag_page, RepoName=repo, ImageName=image)
        assert len(listed) == first["TotalCount"]
        tags[repo, image] = first["TotalCount"]
    return SdkRegistry(repos, images, tags)


def assert_same_registry(registry: Registry, seen: SdkRegistry) -> None:
    """Our ``registry`` holds what the SDK ``seen``: repositories (flags, image counts) and
    images (pulls, update time, tag count), nothing invalid or odd."""
    assert {r.name: (r.shared, r.internet_access, r.images) for r in registry.repos} == {
        name: (
            r["IsShared"] == "true",
            r["IsOutSide"] == "true",
            sum(repo == name for repo, _ in seen.images),
        )
        for name, r in seen.repos.items()
    }
    assert {(i.repo, i.name): (i.pulls, i.updated, i.tags) for i in registry.images} == {
        key: (i["PullCount"], parse_time(i["UpdateTime"]), seen.tags[key])
        for key, i in seen.images.items()
    }
    assert registry.invalid == {}
    assert registry.inconsistencies == frozenset()


def sent_by_sdk(recorder: Recorder, request: Recorded, client: Callable[..., Client]) -> Recorded:
    """Send what our ``request`` carried through the SDK's client made by ``client(url,
    **config)``, configured as a user would (region and project in the config, the action's
    own parameters as arguments); return its request as recorded."""
    form = request.form
    args = {k: v for k, v in form.items() if k not in ("PublicKey", "Signature", "Action")}
    config = {"region": args.pop("Region", None), "project_id": args.pop("ProjectId", None)}
    client(recorder.url, **config).invoke(form["Action"], args)
    (theirs,) = recorder.take()
    return theirs


def assert_sent_alike(mine: Recorded, theirs: Recorded) -> None:
    """Two requests for the same parameters: same method, path, content type, fields, and
    each field encoded byte for byte; only the User-Agent and the SDK's ``U-Timestamp-Ms``
    differ."""
    assert (theirs.method, theirs.path) == (mine.method, mine.path) == ("POST", "/")
    ct = "content-type"
    assert theirs.headers[ct] == mine.headers[ct] == "application/x-www-form-urlencoded"
    assert theirs.form == mine.form  # Signature, PublicKey, ProjectId, Region, Action
    assert theirs.pairs == mine.pairs  # and each field encoded byte for byte
    assert theirs.headers["user-agent"] != mine.headers["user-agent"]
    assert "u-timestamp-ms" in theirs.headers
    assert "u-timestamp-ms" not in mine.headers
