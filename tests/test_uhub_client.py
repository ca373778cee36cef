"""The UHub listing (GetRepo, GetRepoImage, GetImageTag) against gateways on httpx.MockTransport.

Every failure class of the bucket listing is re-run here: RetCodes, garbage, timeouts, lying
or omitted ``TotalCount``, ignored ``Offset``, malformed fields.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from exporter.config import UHubSettings
from exporter.ucloud import (
    APIError,
    DeadlineExceeded,
    DecodeError,
    Registry,
    RequestTimeout,
)
from tests.support.inprocess import uhub_over

T0 = 1_700_000_000  # 2023-11-14T22:13:20Z


def repo(name: str, *, shared: str = "false", outside: str = "true") -> dict[str, Any]:
    when = "2023-11-15 06:13:20"  # T0 in UTC+08:00
    return {"RepoName": name, "CreateTime": when, "UpdateTime": when, "Description": "",
            "IsShared": shared, "IsOutSide": outside}  # fmt: skip


def image(repo_name: str, i: int, *, pulls: Any = None, updated: Any = None) -> dict[str, Any]:
    return {
        "ImageName": f"img{i:04d}",
        "RepoName": repo_name,
        "PullCount": i * 10 if pulls is None else pulls,
        "CreateTime": str(T0),
        "UpdateTime": str(T0 + i) if updated is None else updated,
        "LatestTag": "latest",
    }


@dataclass
class UHub:
    """A UHub gateway: ``private`` and ``public`` repos, each with ``images`` of its own."""

    private: list[dict[str, Any]] = field(default_factory=list)
    public: list[dict[str, Any]] = field(default_factory=list)
    images: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    tags: dict[tuple[str, str], int] = field(default_factory=dict)
    total: dict[str, Any] = field(default_factory=dict)  # action -> TotalCount to report
    ignore_offset: bool = False
    broken: dict[str, httpx.Response] = field(default_factory=dict)  # action -> answer
    calls: Counter[str] = field(default_factory=Counter)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        form = dict(parse_qsl(request.content.decode()))
        action = form["Action"]
        self.calls[action] += 1
        assert "Region" not in form, "UHub is cross-region"
        if action in self.broken:
            return self.broken[action]
        if action == "GetRepo":
            items, key = self.private if form["Type"] == "private" else self.public, "RepoSet"
        elif action == "GetRepoImage":
            items, key = self.images[form["RepoName"]], "ImageSet"
        else:
            count = self.tags.get((form["RepoName"], form["ImageName"]), 3)
            items, key = [{"TagName": f"v{i}"} for i in range(count)], "TagSet"
        offset = 0 if self.ignore_offset else int(form["Offset"])
        body = {"RetCode": 0, key: items[offset : offset + int(form["Limit"])]}
        body["TotalCount"] = self.total.get(action, len(items))
        if body["TotalCount"] is None:
            del body["TotalCount"]
        return httpx.Response(200, content=json.dumps(body).encode())


def fleet(repos: int = 2, images: int = 5) -> UHub:
    names = [f"repo{r}" for r in range(repos)]
    return UHub(
        private=[repo(n) for n in names[::2]],
        public=[repo(n, shared="true") for n in names[1::2]],
        images={n: [image(n, i) for i in range(images)] for n in names},
    )


def pulls(registry: Registry) -> dict[tuple[str, str], int | None]:
    return {(i.repo, i.name): i.pulls for i in registry.images}


def test_private_and_public_repos_are_listed_and_merged():
    hub = fleet(repos=3, images=4)
    hub.public.append(repo("repo0"))  # the same repo under both types counts once
    reg = uhub_over(hub)
    assert [r.name for r in reg.repos] == ["repo0", "repo1", "repo2"]
    assert [(r.shared, r.internet_access, r.images) for r in reg.repos] == [
        (False, True, 4),
        (True, True, 4),
        (False, True, 4),
    ]
    assert len(reg.images) == 12 and pulls(reg)[("repo1", "img0003")] == 30
    assert {i.updated for i in reg.images if i.name == "img0002"} == {T0 + 2}
    assert not reg.invalid and not reg.inconsistencies


def test_one_repo_type_asks_only_that_type():
    hub = fleet(repos=2)
    reg = uhub_over(hub, uhub=UHubSettings(repo_types=("private",)))
    assert [r.name for r in reg.repos] == ["repo0"] and hub.calls["GetRepo"] == 1


@pytest.mark.parametrize(
    ("mode", "tag_calls", "counted"),
    [("off", 0, 0), ("top", 3, 3), ("all", 10, 10)],
)
def test_tag_counts_mode_decides_the_get_image_tag_calls(mode, tag_calls, counted):
    hub = fleet(repos=2, images=5)
    hub.tags[("repo1", "img0004")] = 790
    reg = uhub_over(hub, uhub=UHubSettings(tag_counts=mode, tag_counts_top=3))
    assert hub.calls["GetImageTag"] == tag_calls
    tagged = {(i.repo, i.name): i.tags for i in reg.images if i.tags is not None}
    assert len(tagged) == counted
    if mode != "off":  # the most pulled image (40 pulls, repo1 sorts after repo0) is counted
        assert tagged[("repo1", "img0004")] == 790


def test_top_picks_the_most_pulled_images_of_the_account():
    hub = fleet(repos=2, images=5)
    hub.images["repo0"][0]["PullCount"] = 10_000
    reg = uhub_over(hub, uhub=UHubSettings(tag_counts="top", tag_counts_top=2))
    assert {(i.repo, i.name) for i in reg.images if i.tags is not None} == {
        ("repo0", "img0000"),
        ("repo0", "img0004"),
    }


def test_pages_are_followed_with_the_page_size():
    hub = fleet(repos=1, images=25)
    reg = uhub_over(hub, page_size=10, uhub=UHubSettings(tag_counts="off"))
    assert len(reg.images) == 25 and reg.repos[0].images == 25
    assert hub.calls["GetRepoImage"] == 3 and not reg.inconsistencies


def test_a_total_count_far_ahead_costs_one_extra_page():
    hub = fleet(repos=1, images=5)
    hub.total["GetRepoImage"] = 100_000
    reg = uhub_over(hub, uhub=UHubSettings(tag_counts="off"))
    assert len(reg.images) == 5 and hub.calls["GetRepoImage"] == 2
    assert reg.inconsistencies == {"total_ahead"}


def test_an_omitted_total_count_pages_until_a_short_page():
    hub = fleet(repos=1, images=25)
    hub.total["GetRepoImage"] = None
    reg = uhub_over(hub, page_size=10, uhub=UHubSettings(tag_counts="off"))
    assert len(reg.images) == 25 and hub.calls["GetRepoImage"] == 3


def test_an_ignored_offset_ends_the_listing():
    hub = fleet(repos=1, images=25)
    hub.ignore_offset = True
    reg = uhub_over(hub, page_size=10, uhub=UHubSettings(tag_counts="off"))
    assert len(reg.images) == 10 and reg.inconsistencies == {"repeated_page"}
    assert hub.calls["GetRepoImage"] == 2


def test_malformed_fields_drop_only_their_value():
    hub = fleet(repos=1, images=4)
    hub.images["repo0"][0].update(PullCount="many", UpdateTime="last tuesday")
    hub.images["repo0"][1].update(PullCount=True, UpdateTime={"t": 1})
    hub.images["repo0"][2].update(ImageName="")
    hub.images["repo0"].append("not an object")  # type: ignore[arg-type]
    hub.private[0].update(IsShared="yes")
    del hub.private[0]["IsOutSide"]
    reg = uhub_over(hub, uhub=UHubSettings(tag_counts="off"))
    assert pulls(reg) == {("repo0", "img0000"): None, ("repo0", "img0001"): None,
                          ("repo0", "img0003"): 30}  # fmt: skip
    assert (reg.repos[0].shared, reg.repos[0].internet_access, reg.repos[0].images) == (
        None,
        None,
        4,
    )
    assert reg.invalid == {
        "PullCount": 2,
        "UpdateTime": 2,
        "ImageName": 1,
        "entry": 1,
        "IsShared": 1,
        "IsOutSide": 1,
    }


@pytest.mark.parametrize(
    "when",
    [
        T0,
        str(T0),
        f"{T0}.25",
        "2023-11-14T22:13:20Z",
        "2023-11-15T06:13:20+08:00",
        "2023-11-15 06:13:20",
    ],
)
def test_every_accepted_time_format_reads_the_same_instant(when):
    hub = fleet(repos=1, images=1)
    hub.images["repo0"][0]["UpdateTime"] = when
    reg = uhub_over(hub, uhub=UHubSettings(tag_counts="off"))
    assert reg.images[0].updated == T0


def test_an_omitted_tag_total_with_no_tags_is_zero_and_with_tags_unknown():
    hub = fleet(repos=1, images=2)
    hub.total["GetImageTag"] = None
    hub.tags[("repo0", "img0000")] = 0
    reg = uhub_over(hub, uhub=UHubSettings(tag_counts="all"))
    assert {i.name: i.tags for i in reg.images} == {"img0000": 0, "img0001": None}
    assert reg.invalid == {"TotalCount": 1}


@pytest.mark.parametrize(
    ("action", "answer", "error"),
    [
        ("GetRepo", {"RetCode": 171, "Message": "signature error"}, APIError),
        ("GetRepoImage", {"RetCode": 230, "Message": "no such repo"}, APIError),
        ("GetImageTag", {"RetCode": 160, "Message": "missing ImageName"}, APIError),
        ("GetRepoImage", "<html>bad gateway</html>", DecodeError),
        ("GetRepo", {"RetCode": 0, "RepoSet": {"a": 1}}, DecodeError),
        ("GetRepoImage", {"RetCode": 0, "ImageSet": [], "TotalCount": -3}, DecodeError),
        ("GetImageTag", {"RetCode": 0, "TotalCount": "800"}, DecodeError),
    ],
)
def test_a_failed_call_fails_the_refresh_naming_the_action(action, answer, error):
    hub = fleet(repos=2, images=3)
    content = answer if isinstance(answer, str) else json.dumps(answer)
    hub.broken[action] = httpx.Response(200, content=content.encode())
    with pytest.raises(error) as caught:
        uhub_over(hub, uhub=UHubSettings(tag_counts="all"))
    assert caught.value.action == action
    if isinstance(caught.value, APIError):
        assert str(answer["Message"]) in str(caught.value)


def test_a_hanging_gateway_fails_by_the_deadline():
    def hang(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("no answer", request=request)

    with pytest.raises((RequestTimeout, DeadlineExceeded)):
        uhub_over(hang, timeout_seconds=0.2, budget=1.0)


@dataclass
class OneRepo:
    """A gateway with one private repository ``r`` whose GetRepoImage pages ``pages`` makes
    from (Offset, Limit); it counts them."""

    pages: Callable[[int, int], dict[str, Any]]
    asked: int = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        form = dict(parse_qsl(request.content.decode()))
        if form["Action"] == "GetRepo":
            repos = [repo("r")] if form["Type"] == "private" else []
            body: dict[str, Any] = {"RetCode": 0, "TotalCount": 1, "RepoSet": repos}
        else:
            self.asked += 1
            body = {"RetCode": 0, **self.pages(int(form["Offset"]), int(form["Limit"]))}
        return httpx.Response(200, content=json.dumps(body).encode())


def test_an_endless_stream_of_new_names_is_cut_at_the_cap():
    endless = OneRepo(lambda _, limit: {"ImageSet": [image("r", endless.asked * limit + i)
                                                     for i in range(limit)]})  # fmt: skip
    reg = uhub_over(endless, page_size=1000, uhub=UHubSettings(tag_counts="off"))
    assert len(reg.images) == 20_000 and reg.truncated == {"too_many_images"}
    assert endless.asked == 20  # no page after the one that reached the cap


def test_an_endless_stream_of_nameless_entries_is_cut_by_the_page_cap():
    nameless = OneRepo(lambda _, limit: {"ImageSet": [{"PullCount": 1}] * limit})
    with pytest.raises(DecodeError, match="pages"):
        uhub_over(nameless, page_size=100, uhub=UHubSettings(tag_counts="off"))
    assert nameless.asked == 1_000 + 20_000 // 100  # the page cap: beyond the pages the cap needs


def test_the_cap_keeps_the_first_images_of_the_repositories_by_name():
    """8 repositories of 5,000 images, the default cap of 20,000 per account and refresh."""
    hub = fleet(repos=8, images=5_000)
    hub.private.reverse()  # the order GetRepo lists them in does not matter
    reg = uhub_over(hub, page_size=1_000, uhub=UHubSettings(tag_counts="top"))
    assert len(reg.images) == 20_000 and reg.truncated == {"too_many_images"}
    assert {i.repo for i in reg.images} == {"repo0", "repo1", "repo2", "repo3"}
    assert [(i.repo, i.name) for i in reg.images] == sorted((i.repo, i.name) for i in reg.images)
    # Pages: 5 of each kept repository, none of the others; tags only for kept images.
    assert hub.calls["GetRepoImage"] == 4 * 5 and hub.calls["GetImageTag"] == 50
    assert all(i.repo in {"repo0", "repo1", "repo2", "repo3"} for i in reg.images if i.tags)
    # What each repository holds is known where it was listed, absent where it was not.
    assert [(r.name, r.images) for r in reg.repos] == [
        *((f"repo{n}", 5_000) for n in range(4)),
        *((f"repo{n}", None) for n in range(4, 8)),
    ]


def test_a_registry_within_the_cap_is_whole():
    hub = fleet(repos=8, images=5)
    reg = uhub_over(hub, uhub=UHubSettings(tag_counts="off", max_images=40))
    assert len(reg.images) == 40 and not reg.truncated


def test_the_images_kept_do_not_depend_on_the_order_pages_arrive():
    """Repositories are listed concurrently; random delays reorder the answers."""
    hub = fleet(repos=8, images=50)
    rng = random.Random(7)

    async def jittery(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(rng.random() * 0.004)
        return hub(request)

    kept = []
    for width in (1, 8, 8, 8):
        reg = uhub_over(
            jittery,
            page_size=7,
            max_concurrent_requests=width,
            uhub=UHubSettings(tag_counts="off", max_images=120),
        )
        kept.append([(i.repo, i.name) for i in reg.images])
        assert reg.truncated == {"too_many_images"}
    first_twenty = sorted(f"img{i:04d}" for i in range(20))
    assert kept[0] == [
        *((f"repo{r}", f"img{i:04d}") for r in (0, 1) for i in range(50)),
        *(("repo2", name) for name in first_twenty),
    ]
    assert all(k == kept[0] for k in kept)


def test_the_first_images_in_listing_order_are_kept_within_a_repository():
    hub = fleet(repos=1, images=30)
    hub.images["repo0"].reverse()  # GetRepoImage lists img0029 first
    reg = uhub_over(hub, page_size=4, uhub=UHubSettings(tag_counts="all", max_images=10))
    assert [i.name for i in reg.images] == [f"img{i:04d}" for i in range(20, 30)]
    assert hub.calls["GetImageTag"] == 10 and hub.calls["GetRepoImage"] == 3
    assert reg.repos[0].images == 30  # TotalCount: what the repository holds


def test_a_hostile_gateway_of_600000_images_costs_only_the_pages_of_the_cap():
    """Pages are made on demand: the gateway holds nothing; the refresh parses 20 pages."""
    huge = OneRepo(
        lambda offset, limit: {
            "TotalCount": 600_000,
            "ImageSet": [image("r", i) for i in range(offset, min(offset + limit, 600_000))],
        }
    )
    reg = uhub_over(huge, page_size=1_000, uhub=UHubSettings(tag_counts="off"))
    assert huge.asked == 20 and len(reg.images) == 20_000
    assert reg.repos[0].images == 600_000 and reg.truncated == {"too_many_images"}


def test_more_than_1000_repositories_keep_the_first_1000_listed():
    hub = UHub(private=[repo(f"r{n:04d}") for n in range(1_005, 0, -1)])
    hub.images = {f"r{n:04d}": [image(f"r{n:04d}", 0)] for n in range(1, 1_006)}
    reg = uhub_over(hub, page_size=100, uhub=UHubSettings(tag_counts="off", max_images=3))
    # GetRepo's first 1,000 (r1005 down to r0006), sorted; then 3 images, one per repository.
    assert len(reg.repos) == 1_000 and reg.repos[0].name == "r0006"
    assert [i.repo for i in reg.images] == ["r0006", "r0007", "r0008"]
    assert reg.truncated == {"too_many_repos", "too_many_images"}
    # 10 private pages reach 1,000 repositories: no 11th, no public listing.
    assert hub.calls["GetRepo"] == 10 and hub.calls["GetRepoImage"] == 3
