"""The simulated gateway's UHub actions (GetRepo, GetRepoImage, GetImageTag) over loopback HTTP."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from exporter.simulator import (
    DEMO_ACCOUNTS,
    FIXED_EPOCH,
    GOLDEN_PRIVATE_KEY,
    GOLDEN_PROJECT,
    GOLDEN_PUBLIC_KEY,
    UHUB_TIME_FORMATS,
    Account,
    Fault,
    Fleet,
    GeneratedImages,
    Image,
    Quirks,
    Repo,
    Simulator,
    demo_fleet,
    fleet_from_dict,
    load_fleet,
    uhub_repos,
    uhub_time,
)
from exporter.simulator.uhub import NOT_FOUND
from tests.support.gateway import TLS, post, signed

DAY = 86_400
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
REPO_FIELDS = {"RepoName", "CreateTime", "UpdateTime", "Description", "IsShared", "IsOutSide"}
IMAGE_FIELDS = {"ImageName", "RepoName", "PullCount", "CreateTime", "UpdateTime", "LatestTag"}


def registry() -> list[Repo]:
    """Three repositories: web (45 images), tools (shared, internal only), empty."""
    web = [
        Image(f"svc-{i:02d}", i * 10, 1_600_000_000 + i, 1_700_000_000 + i, f"v{i + 1}", i + 1)
        for i in range(45)
    ]
    web[0] = Image("busy", 0, 1_600_000_000, 1_700_000_000, "v760", 760)
    tools = [Image("debug", 7, 1_500_000_000, 1_650_000_000, "latest", 4)]
    return [
        Repo("web", 1_700_000_000, 1_700_000_044, "storefront", images=web),
        Repo("tools", 1_500_000_000, 1_650_000_000, "", shared=True, outside=False, images=tools),
        Repo("empty", 1_400_000_000, 1_400_000_000),
    ]


@pytest.fixture
def hub_sim() -> Iterator[Simulator]:
    account = Account(GOLDEN_PUBLIC_KEY, GOLDEN_PRIVATE_KEY, {GOLDEN_PROJECT}, repos=registry())
    with Simulator(Fleet([account])) as simulator:
        yield simulator


@pytest.fixture
def hub(hub_sim: Simulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=hub_sim.url, timeout=5, verify=TLS) as http:
        yield http


def ask(client: httpx.Client, action: str, **params: Any) -> dict[str, Any]:
    """Send a signed UHub request for the golden account and return the JSON answer."""
    return post(client, signed({"Action": action, **{k: str(v) for k, v in params.items()}}))


def field(body: dict[str, Any], key: str, name: str) -> list[Any]:
    return [item[name] for item in body[key]]


def walk(client: httpx.Client, action: str, key: str, *, limit: int, **params: Any) -> list[Any]:
    """Page through a listing by what came back; return every item."""
    items: list[Any] = []
    while True:
        body = ask(client, action, Offset=len(items), Limit=limit, **params)
        assert body["RetCode"] == 0, body
        items += body[key]
        if not body[key] or len(items) >= body["TotalCount"]:
            return items


# --- the three actions -----------------------------------------------------------------------


@pytest.mark.e2e
def test_get_repo_lists_private_or_public_repositories(hub: httpx.Client) -> None:
    private = ask(hub, "GetRepo", Type="private")
    assert (private["RetCode"], private["Action"]) == (0, "GetRepoResponse")
    assert private["TotalCount"] == 2
    assert private["RepoSet"][0] == {
        "RepoName": "web",
        "CreateTime": "2023-11-15 06:13:20",
        "UpdateTime": "2023-11-15 06:14:04",
        "Description": "storefront",
        "IsShared": "false",
        "IsOutSide": "true",
    }
    assert field(private, "RepoSet", "RepoName") == ["web", "empty"]
    public = ask(hub, "GetRepo")  # Type defaults to public
    assert field(public, "RepoSet", "RepoName") == ["tools"] and public["TotalCount"] == 1
    assert public["RepoSet"][0]["IsShared"] == "true"
    assert public["RepoSet"][0]["IsOutSide"] == "false"
    assert all(set(item) == REPO_FIELDS for item in private["RepoSet"] + public["RepoSet"])


@pytest.mark.e2e
def test_get_repo_image_shape_and_default_page(hub: httpx.Client) -> None:
    body = ask(hub, "GetRepoImage", RepoName="web")
    assert (body["RetCode"], body["Action"], body["TotalCount"]) == (0, "GetRepoImageResponse", 45)
    assert len(body["ImageSet"]) == 20  # default Limit
    assert all(set(item) == IMAGE_FIELDS for item in body["ImageSet"])
    assert body["ImageSet"][1] == {
        "ImageName": "svc-01",
        "RepoName": "web",
        "PullCount": 10,
        "CreateTime": "2020-09-13 20:26:41",
        "UpdateTime": "2023-11-15 06:13:21",
        "LatestTag": "v2",
    }
    empty = ask(hub, "GetRepoImage", RepoName="empty")
    assert (empty["TotalCount"], empty["ImageSet"]) == (0, [])


@pytest.mark.e2e
def test_offset_and_limit(hub: httpx.Client) -> None:
    page = ask(hub, "GetRepoImage", RepoName="web", Offset=40, Limit=10)
    assert field(page, "ImageSet", "ImageName") == [f"svc-{i}" for i in range(40, 45)]
    assert ask(hub, "GetRepoImage", RepoName="web", Limit=0)["ImageSet"] == []
    assert ask(hub, "GetRepoImage", RepoName="web", Offset=99)["ImageSet"] == []
    names = [i["ImageName"] for i in walk(hub, "GetRepoImage", "ImageSet", limit=7, RepoName="web")]
    assert names == ["busy", *(f"svc-{i:02d}" for i in range(1, 45))]
    assert len(ask(hub, "GetRepo", Type="private", Limit=1)["RepoSet"]) == 1


@pytest.mark.e2e
def test_limit_clamp_applies_to_uhub() -> None:
    account = Account(GOLDEN_PUBLIC_KEY, GOLDEN_PRIVATE_KEY, repos=registry())
    with (
        Simulator(Fleet([account]), limit_clamp=5) as clamped,
        httpx.Client(base_url=clamped.url, timeout=5, verify=TLS) as http,
    ):
        body = ask(http, "GetImageTag", RepoName="web", ImageName="busy", Limit=100)
    assert (len(body["TagSet"]), body["TotalCount"]) == (5, 760)


@pytest.mark.e2e
def test_get_image_tag_generates_tags(hub: httpx.Client) -> None:
    first = ask(hub, "GetImageTag", RepoName="web", ImageName="busy")
    assert (first["RetCode"], first["Action"]) == (0, "GetImageTagResponse")
    assert first["TotalCount"] == 760 and len(first["TagSet"]) == 20
    assert set(first["TagSet"][0]) == {"TagName", "UpdateTime", "Digest"}
    tags = walk(hub, "GetImageTag", "TagSet", limit=300, RepoName="web", ImageName="busy")
    names = [t["TagName"] for t in tags]
    assert names == [f"v{n}" for n in range(760, 0, -1)]
    assert all(DIGEST.fullmatch(t["Digest"]) for t in tags)
    assert len({t["Digest"] for t in tags}) == 760
    assert tags[0]["UpdateTime"] == "2023-11-15 06:13:20"  # the image's own UpdateTime
    assert tags[-1]["UpdateTime"] == "2020-09-13 20:26:40"  # back to its CreateTime
    assert [t["UpdateTime"] for t in tags] == sorted((t["UpdateTime"] for t in tags), reverse=True)
    assert ask(hub, "GetImageTag", RepoName="web", ImageName="busy") == first  # deterministic


@pytest.mark.e2e
def test_tag_name_filter(hub: httpx.Client) -> None:
    every = ask(hub, "GetImageTag", RepoName="tools", ImageName="debug")["TagSet"]
    assert [t["TagName"] for t in every] == ["latest", "v3", "v2", "v1"]
    for tag in every:
        only = ask(hub, "GetImageTag", RepoName="tools", ImageName="debug", TagName=tag["TagName"])
        assert (only["TotalCount"], only["TagSet"]) == (1, [tag])
    for missing in ("v4", "v0", "nope", "latest2"):
        none = ask(hub, "GetImageTag", RepoName="tools", ImageName="debug", TagName=missing)
        assert (none["RetCode"], none["TotalCount"], none["TagSet"]) == (0, 0, [])


@pytest.mark.e2e
@pytest.mark.parametrize("latest", ["latest", "v1", "v2", "v3", "v999", "v03"])
def test_tag_names_are_unique_whatever_the_latest_tag(hub_sim: Simulator, latest: str) -> None:
    account = hub_sim.fleet.account(GOLDEN_PUBLIC_KEY)
    assert account is not None
    account.repos[1].images[0].latest_tag = latest
    with httpx.Client(base_url=hub_sim.url, timeout=5, verify=TLS) as http:
        names = field(
            ask(http, "GetImageTag", RepoName="tools", ImageName="debug"), "TagSet", "TagName"
        )
        assert names[0] == latest and len(set(names)) == 4
        for name in names:
            found = ask(http, "GetImageTag", RepoName="tools", ImageName="debug", TagName=name)
            assert field(found, "TagSet", "TagName") == [name]


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("time_format", "expected"),
    [
        ("unix", 1_700_000_000),
        ("unix_string", "1700000000"),
        ("rfc3339", "2023-11-15T06:13:20+08:00"),
        ("datetime", "2023-11-15 06:13:20"),
    ],
)
def test_time_formats(
    hub_sim: Simulator, hub: httpx.Client, time_format: str, expected: int | str
) -> None:
    account = hub_sim.fleet.account(GOLDEN_PUBLIC_KEY)
    assert account is not None and time_format in UHUB_TIME_FORMATS
    account.uhub_time_format = time_format
    repo = ask(hub, "GetRepo", Type="private")["RepoSet"][0]
    image = ask(hub, "GetRepoImage", RepoName="web")["ImageSet"][0]
    tag = ask(hub, "GetImageTag", RepoName="web", ImageName="busy", Limit=1)["TagSet"][0]
    assert repo["CreateTime"] == image["UpdateTime"] == tag["UpdateTime"] == expected
    assert uhub_time(1_700_000_000, time_format) == expected


def test_every_time_format_names_the_same_instant() -> None:
    when = 1_700_000_000
    assert int(uhub_time(when, "unix_string")) == when
    assert datetime.fromisoformat(str(uhub_time(when, "rfc3339"))).timestamp() == when
    local = datetime.fromisoformat(str(uhub_time(when, "datetime")) + "+08:00")
    assert local.timestamp() == when
    with pytest.raises(ValueError, match="uhub_time_format must be one of unix, unix_string"):
        Account("p", "s", uhub_time_format="iso")


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("params", "retcode", "message"),
    [
        ({"Action": "GetRepo", "Type": "mine"}, 230, "Params [Type] not valid"),
        ({"Action": "GetRepo", "Offset": "-1"}, 230, "Params [Offset] not valid"),
        ({"Action": "GetRepo", "Limit": "ten"}, 230, "Params [Limit] not valid"),
        ({"Action": "GetRepoImage"}, 230, "Missing params [RepoName]"),
        ({"Action": "GetRepoImage", "RepoName": ""}, 230, "Missing params [RepoName]"),
        ({"Action": "GetImageTag", "ImageName": "busy"}, 230, "Missing params [RepoName]"),
        ({"Action": "GetImageTag", "RepoName": "web"}, 230, "Missing params [ImageName]"),
        ({"Action": "GetRepoImage", "RepoName": "nope"}, 231, "Repo [nope] not exist"),
        (
            {"Action": "GetImageTag", "RepoName": "nope", "ImageName": "busy"},
            231,
            "Repo [nope] not exist",
        ),
        (
            {"Action": "GetImageTag", "RepoName": "tools", "ImageName": "busy"},
            231,
            "Image [busy] not exist in repo [tools]",
        ),
        ({"Action": "GetRepo", "ProjectId": "org-elsewhere"}, 292, "project not exist"),
    ],
)
def test_errors(hub: httpx.Client, params: dict[str, str], retcode: int, message: str) -> None:
    assert post(hub, signed(params)) == {
        "RetCode": retcode,
        "Action": f"{params['Action']}Response",
        "Message": message,
    }


@pytest.mark.e2e
def test_signature_is_checked(hub: httpx.Client) -> None:
    bad = signed({"Action": "GetRepoImage", "RepoName": "web"}, private_key="wrong")
    assert post(hub, bad)["RetCode"] == 171
    unsigned = {"Action": "GetRepo", "PublicKey": GOLDEN_PUBLIC_KEY}
    assert post(hub, unsigned)["RetCode"] == 170
    assert ask(hub, "GetRepo", ProjectId=GOLDEN_PROJECT)["RetCode"] == 0


@pytest.mark.e2e
def test_a_get_request_works_too(hub: httpx.Client) -> None:
    body = hub.get("/", params=signed({"Action": "GetRepo", "Type": "private"})).json()
    assert body["TotalCount"] == 2


# --- faults, quirks, throttling --------------------------------------------------------------


@pytest.mark.e2e
def test_faults_match_uhub_actions_without_a_region(hub_sim: Simulator, hub: httpx.Client) -> None:
    hub_sim.add_fault(Fault(retcode=150), region="cn-bj2")  # never matches UHub
    hub_sim.add_fault(Fault(retcode=153, message="slow down", times=1), action="GetRepoImage")
    assert ask(hub, "GetRepo", Region="cn-bj2")["RetCode"] == 0  # a stray Region is ignored
    assert ask(hub, "GetRepoImage", RepoName="web") == {
        "RetCode": 153,
        "Action": "GetRepoImageResponse",
        "Message": "slow down",
    }
    assert ask(hub, "GetRepoImage", RepoName="web")["RetCode"] == 0
    assert hub_sim.request_count(action="GetRepo") == 1
    assert hub_sim.request_count(action="GetRepo", region="cn-bj2") == 0


@pytest.mark.e2e
def test_quirks_as_a_fault_on_a_uhub_action(hub_sim: Simulator, hub: httpx.Client) -> None:
    odd = Quirks(total_count=3, omit_zero=True, omit_fields=("LatestTag",), page_entries=2)
    hub_sim.add_fault(Fault(quirks=odd, times=1), action="GetRepoImage")
    body = ask(hub, "GetRepoImage", RepoName="web", Limit=10)
    assert body["TotalCount"] == 3 and len(body["ImageSet"]) == 2
    assert body["ImageSet"][0] == {  # busy: PullCount 0 left out
        "ImageName": "busy",
        "RepoName": "web",
        "CreateTime": "2020-09-13 20:26:40",
        "UpdateTime": "2023-11-15 06:13:20",
    }
    assert body["ImageSet"][1]["PullCount"] == 10
    normal = ask(hub, "GetRepoImage", RepoName="web", Limit=10)
    assert normal["TotalCount"] == 45 and normal["ImageSet"][0]["PullCount"] == 0


@pytest.mark.e2e
def test_paging_quirks_on_tags(hub_sim: Simulator, hub: httpx.Client) -> None:
    hub_sim.add_fault(
        Fault(quirks=Quirks(ignore_offset=True, omit_total=True)), action="GetImageTag"
    )
    page = ask(hub, "GetImageTag", RepoName="web", ImageName="busy", Offset=500, Limit=3)
    assert "TotalCount" not in page
    assert field(page, "TagSet", "TagName") == ["v760", "v759", "v758"]
    hub_sim.clear_faults()
    hub_sim.add_fault(Fault(quirks=Quirks(ignore_limit=True), times=1), action="GetImageTag")
    assert (
        len(ask(hub, "GetImageTag", RepoName="web", ImageName="busy", Offset=10)["TagSet"]) == 750
    )


@pytest.mark.e2e
def test_quirk_delay_on_a_uhub_action(hub_sim: Simulator, hub: httpx.Client) -> None:
    hub_sim.add_fault(Fault(quirks=Quirks(delay_seconds=0.3), times=1), action="GetRepo")
    started = time.monotonic()
    assert ask(hub, "GetRepo")["RetCode"] == 0
    assert time.monotonic() - started >= 0.3


@pytest.mark.e2e
def test_throttling_counts_uhub_requests() -> None:
    account = Account(GOLDEN_PUBLIC_KEY, GOLDEN_PRIVATE_KEY, repos=registry(), throttle=(0.1, 2))
    with (
        Simulator(Fleet([account])) as throttled,
        httpx.Client(base_url=throttled.url, timeout=5, verify=TLS) as http,
    ):
        codes = [ask(http, "GetRepo")["RetCode"] for _ in range(3)]
        assert codes == [0, 0, 153] and throttled.throttled == 1


# --- fleet files -----------------------------------------------------------------------------

FLEET = {
    "accounts": [
        {
            "public_key": "p",
            "private_key": "s",
            "uhub_time_format": "unix",
            "repos": [
                {
                    "name": "web",
                    "create_time": 1_600_000_000,
                    "update_time": 1_700_000_000,
                    "description": "storefront",
                    "shared": True,
                    "outside": False,
                    "images": [
                        {
                            "name": "frontend",
                            "pull_count": 12,
                            "create_time": 1_600_000_001,
                            "update_time": 1_700_000_001,
                            "latest_tag": "v9",
                            "tags": 9,
                        },
                        {"name": "minimal"},
                    ],
                },
                {"name": "bare"},
            ],
        }
    ]
}


def test_fleet_file_repos() -> None:
    account = fleet_from_dict(FLEET).account("p")
    assert account is not None and account.uhub_time_format == "unix"
    assert account.repos == [
        Repo(
            "web",
            1_600_000_000,
            1_700_000_000,
            "storefront",
            shared=True,
            outside=False,
            images=[
                Image("frontend", 12, 1_600_000_001, 1_700_000_001, "v9", 9),
                Image("minimal", 0, FIXED_EPOCH, FIXED_EPOCH),
            ],
        ),
        Repo("bare", FIXED_EPOCH, FIXED_EPOCH),
    ]
    bare = fleet_from_dict({"accounts": [{"public_key": "p", "private_key": "s"}]}).account("p")
    assert bare is not None and (bare.repos, bare.uhub_time_format) == ([], "datetime")


def with_account(**changes: Any) -> dict[str, Any]:
    account = {**FLEET["accounts"][0], **changes}
    return {"accounts": [account]}


def with_image(**changes: Any) -> dict[str, Any]:
    return with_account(repos=[{"name": "web", "images": [{"name": "app", **changes}]}])


@pytest.mark.e2e
def test_fleet_file_repos_from_disk(tmp_path: Path) -> None:
    (tmp_path / "fleet.yaml").write_text(yaml.safe_dump(with_account(uhub_time_format="rfc3339")))
    with (
        Simulator(load_fleet(tmp_path / "fleet.yaml")) as served,
        httpx.Client(base_url=served.url, timeout=5, verify=TLS) as http,
    ):
        form = {"Action": "GetRepoImage", "RepoName": "web", "PublicKey": "p"}
        body = post(http, signed(form, private_key="s"))
    assert field(body, "ImageSet", "UpdateTime") == [
        "2023-11-15T06:13:21+08:00",
        "2025-01-01T08:00:00+08:00",  # FIXED_EPOCH, the default
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (with_account(repos={"web": {}}), "fleet: accounts[0].repos: must be a list"),
        (with_account(repos=["web"]), "accounts[0].repos[0]: must be a mapping"),
        (with_account(repos=[{"images": []}]), "repos[0].name: must be a non-empty string"),
        (with_account(repos=[{"name": "a"}, {"name": "a"}]), "repos[1].name: 'a' is listed twice"),
        (with_account(repos=[{"name": "a", "shared": "yes"}]), "repos[0].shared: must be true"),
        (with_account(repos=[{"name": "a", "owner": "x"}]), "repos[0].owner: unknown field"),
        (with_account(repos=[{"name": "a", "images": {}}]), "repos[0].images: must be a list"),
        (with_account(repos=[{"name": "a", "images": -1}]), "repos[0].images: must be 0 to"),
        (with_account(repos=[{"name": "a", "images": True}]), "repos[0].images: must be a list"),
        (with_account(repos=[{"name": "a", "create_time": "x"}]), "create_time: must be an int"),
        (with_account(uhub_time_format="iso"), "accounts[0].uhub_time_format: must be one of"),
        (with_image(pull_count=-1), "repos[0].images[0].pull_count: must be a non-negative"),
        (with_image(tags=True), "repos[0].images[0].tags: must be a non-negative integer"),
        (with_image(latest_tag=5), "repos[0].images[0].latest_tag: must be a string"),
        (with_image(size=5), "repos[0].images[0].size: unknown field (known: name, pull_count"),
        (
            with_account(repos=[{"name": "w", "images": [{"name": "a"}, {"name": "a"}]}]),
            "repos[0].images[1].name: 'a' is listed twice",
        ),
    ],
)
def test_fleet_file_repo_errors_name_the_key(data: Any, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        fleet_from_dict(data)


@pytest.mark.e2e
def test_fleet_file_generated_images_are_made_on_demand() -> None:
    """600,000 images from one number: pages, TotalCount, tags and lookups, nothing held."""
    t0 = 1_700_000_000
    fleet = fleet_from_dict(
        with_account(
            repos=[{"name": "huge", "images": 600_000, "create_time": t0, "update_time": t0 + 50}]
        )
    )
    account = fleet.account("p")
    assert account is not None
    images = account.repos[0].images
    assert isinstance(images, GeneratedImages) and len(images) == 600_000
    assert [i.name for i in images[:2]] == ["image-000001", "image-000002"]
    assert images[-1].name == "image-600000" and images[-1].update_time == t0
    assert images[3].update_time == t0 + 47 and images[3].create_time == t0
    names = [i.name for i in images[599_990:]]
    assert names == sorted(names) and len(names) == 10
    with Simulator(fleet) as served, httpx.Client(base_url=served.url, timeout=5) as http:
        page = {"Action": "GetRepoImage", "RepoName": "huge", "PublicKey": "p"}
        body = post(http, signed({**page, "Offset": "599999", "Limit": "1000"}, private_key="s"))
        assert body["TotalCount"] == 600_000
        assert field(body, "ImageSet", "ImageName") == ["image-600000"]
        tags = {"Action": "GetImageTag", "RepoName": "huge", "PublicKey": "p"}
        body = post(http, signed({**tags, "ImageName": "image-500000"}, private_key="s"))
        assert body["TotalCount"] == 1 and field(body, "TagSet", "TagName") == ["latest"]
        for missing in ("image-600001", "image-0000001", "image-00001", "nginx"):
            body = post(http, signed({**tags, "ImageName": missing}, private_key="s"))
            assert body["RetCode"] == NOT_FOUND, missing


# --- demo and synthetic registries -----------------------------------------------------------


def test_demo_registry() -> None:
    fleet = demo_fleet(now=FIXED_EPOCH)
    main, *others = (fleet.account(public_key) for _, public_key, _, _ in DEMO_ACCOUNTS)
    assert main is not None and all(o is not None and o.repos == [] for o in others)
    assert main.uhub_time_format == "datetime"
    repos = main.repos
    assert 4 <= len(repos) <= 6 and len({r.name for r in repos}) == len(repos)
    assert [r.shared for r in repos].count(True) == 1
    assert [r.outside for r in repos].count(False) == 1
    images = [i for r in repos for i in r.images]
    assert all(3 <= len(r.images) <= 40 for r in repos)
    assert all(len({i.name for i in r.images}) == len(r.images) for r in repos)
    assert [i.tags for i in images].count(760) == 1 and max(i.tags for i in images) == 760
    ages = sorted((FIXED_EPOCH - i.update_time) // DAY for i in images)
    assert ages[-1] >= 120 and ages[-2] < 30  # one stale image, the rest recent
    assert all(i.create_time <= i.update_time <= FIXED_EPOCH for i in images)
    assert all(r.create_time <= min(i.create_time for i in r.images) for r in repos)
    pulls = sorted(i.pull_count for i in images)
    assert pulls[0] == 0 and pulls[-1] >= 1000 and 0 < pulls[len(pulls) // 2] < pulls[-1] // 10


def test_demo_registry_is_deterministic() -> None:
    fleet = demo_fleet(now=FIXED_EPOCH)

    def repos(other: Fleet) -> list[Repo]:
        account = other.account(DEMO_ACCOUNTS[0][1])
        assert account is not None
        return account.repos

    assert repos(fleet) == repos(demo_fleet(now=FIXED_EPOCH))
    assert repos(fleet) != repos(demo_fleet(seed=7, now=FIXED_EPOCH))
    later = repos(demo_fleet(now=FIXED_EPOCH + 10 * DAY))
    assert [i.update_time - 10 * DAY for r in later for i in r.images] == [
        i.update_time for r in repos(fleet) for i in r.images
    ]
    today = repos(demo_fleet())
    assert max(i.update_time for r in today for i in r.images) <= time.time()
    assert max(i.update_time for r in today for i in r.images) > time.time() - 31 * DAY


@pytest.mark.e2e
def test_demo_registry_over_http() -> None:
    _, public_key, private_key, _ = DEMO_ACCOUNTS[0]
    with (
        Simulator(demo_fleet(now=FIXED_EPOCH)) as served,
        httpx.Client(base_url=served.url, timeout=5, verify=TLS) as http,
    ):

        def call(action: str, **params: Any) -> dict[str, Any]:
            form = {"Action": action, "PublicKey": public_key, "Limit": "100", **params}
            return post(http, signed(form, private_key=private_key))

        names = [
            r["RepoName"]
            for kind in ("private", "public")
            for r in call("GetRepo", Type=kind)["RepoSet"]
        ]
        images = [(n, i) for n in names for i in call("GetRepoImage", RepoName=n)["ImageSet"]]
        stale = [(n, i["ImageName"]) for n, i in images if i["UpdateTime"] < "2024-10-01 00:00:00"]
        assert len(stale) == 1
        counts = sorted(
            call("GetImageTag", RepoName=n, ImageName=i["ImageName"], Limit="1")["TotalCount"]
            for n, i in images
        )
    assert counts[-1] == 760 and counts[-2] <= 40  # one image close to UHub's 800-tag limit


def test_uhub_repos_for_benchmarks() -> None:
    started = time.monotonic()
    repos = uhub_repos(repos=8, images=500, tags=lambda n: 760 if n == 0 else n % 5)
    assert time.monotonic() - started < 1
    assert [r.name for r in repos] == [f"repo-{n:02d}" for n in range(1, 9)]
    assert all(len(r.images) == 500 for r in repos)
    assert repos[0].images[0].tags == 760 and repos[1].images[3].tags == 503 % 5
    assert repos[0].images[0].name == "image-00001"
    assert [r.shared for r in repos].count(True) == 2
    assert not all(r.outside for r in repos)
    assert repos == uhub_repos(repos=8, images=500, tags=lambda n: 760 if n == 0 else n % 5)
    assert repos != uhub_repos(repos=8, images=500, seed=1)
    assert all(i.tags == 3 for r in uhub_repos(repos=2, images=3, tags=3) for i in r.images)
    assert all(
        r.create_time <= i.create_time <= i.update_time <= FIXED_EPOCH
        for r in repos
        for i in r.images
    )
    with pytest.raises(ValueError, match="tags must be >= 0"):
        uhub_repos(repos=1, images=1, tags=-1)
