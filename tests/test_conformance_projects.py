"""UCloud's official Python SDK against our simulator and our client, project by project.

The SDK's own client, pointed at the simulator, lists the account's projects (UAccount
``GetProjectList``) and regions (``GetRegion``, the same from every project: account-wide);
then, configured with each project in turn, pages ``GetImageBucketList`` with its generic
``invoke`` (it has no UGC service) in every region and lists UHub (``GetRepo``,
``GetRepoImage``, ``GetImageTag``). Every answer the SDK has a schema for loads through it and
carries every field the schema requires; what it sees equals what ``exporter.ucloud`` lists
with ``get_projects``, ``list_image_buckets(project=...)`` and ``list_registry(project=...)``.
Our client's requests for the same parameters sign and encode as the SDK's do.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from ucloud.client import Client

from exporter.config import UHubSettings
from exporter.simulator import (
    GOLDEN_PRIVATE_KEY,
    GOLDEN_PROJECT,
    GOLDEN_PUBLIC_KEY,
    PROJECT_ORDERS,
    Bucket,
    Fleet,
    Image,
    ProjectData,
    Repo,
    Simulator,
    golden_fleet,
)
from exporter.ucloud import (
    TRANSPORTS,
    Project,
    UCloudClient,
    get_projects,
    get_regions,
    list_image_buckets,
    list_registry,
)
from tests.support.recorder import Recorder
from tests.support.sdk import (
    assert_same_buckets,
    assert_same_registry,
    assert_sent_alike,
    check_schemas,
    deadline,
    golden_account,
    no_proxy,  # noqa: F401 (autouse fixture)
    our_listing,
    ours,
    sdk_buckets,
    sdk_client,
    sdk_registry,
    sent_by_sdk,
    unobserved,
    watched,
)

pytestmark = pytest.mark.e2e  # every test here starts a process

OTHER, EMPTY = "org-golden-team", "org-golden-empty"
ACCOUNT = golden_account(uhub=True)


def projects_fleet(order: str = "default_first") -> Fleet:
    """The golden fleet whose account has two more projects: one with buckets (odd names
    included) in cn-bj2, hk (empty in the default project) and sg (a region only it has), and
    a UHub registry; one with nothing at all."""
    fleet = golden_fleet()
    with fleet.locked(GOLDEN_PUBLIC_KEY) as account:
        account.project_order = order
        account.default_project_name = "golden"
        account.extra_projects = [
            ProjectData(
                OTHER,
                "团队 & team",
                1_650_000_000,
                7,
                {
                    "cn-bj2": [Bucket(f"team/app-{n}", "Private", n, 1_600_000_000 + n)
                               for n in range(7)],
                    "hk": [Bucket("team/镜像 a+b&c=d", "Public", 3, 1_610_000_000),
                           Bucket("library/nginx", "Public", 40, 1_500_000_000, shared=True)],
                    "sg": [Bucket("team/edge", "Private", 0, 1_620_000_000)],
                },
                [
                    Repo("team", 1_600_000_000, 1_700_000_000, images=[
                        Image("api", 12, 1_600_000_000, 1_700_000_000, "v30", 30),
                        Image("worker", 0, 1_600_000_000, 1_650_000_000),
                    ]),
                    Repo("team-public", 1_600_000_000, 1_600_000_000, shared=True,
                         images=[Image("sdk", 5, 1_600_000_000, 1_600_000_000, tags=3)]),
                ],
            ),
            ProjectData(EMPTY, "empty", member_count=0),
        ]  # fmt: skip
    return fleet


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(projects_fleet()) as served:
        yield served


def sdk(url: str, **config: Any) -> Client:
    """The SDK's client for the golden account at ``url`` (``project_id`` None by default:
    no ProjectId sent, the default project)."""
    return sdk_client(url, GOLDEN_PUBLIC_KEY, GOLDEN_PRIVATE_KEY, **{"project_id": None, **config})


def our_projects(url: str) -> tuple[Project, ...]:
    return ours(url, lambda c: get_projects(c, ACCOUNT, deadline=deadline(), observe=unobserved))


@pytest.mark.parametrize("order", PROJECT_ORDERS)
def test_sdk_loads_get_project_list_as_our_client_reads_it(order: str) -> None:
    with Simulator(projects_fleet(order)) as sim:
        client = sdk(sim.url)
        answers = watched(client)
        answer = client.uaccount().get_project_list()
        check_schemas(answers)
        found = our_projects(sim.url)
        with_project = sdk(sim.url, project_id=EMPTY).uaccount().get_project_list()
    assert with_project == answer  # the list is account-wide, whatever ProjectId says
    assert answer["ProjectCount"] == len(answer["ProjectSet"]) == 3
    for entry in answer["ProjectSet"]:  # loaded through ProjectListInfoSchema: every type
        assert isinstance(entry["IsDefault"], bool)
        assert all(isinstance(entry[k], int) for k in ("CreateTime", "MemberCount"))
        assert isinstance(entry["ResourceCount"], int)
    assert found == tuple(
        Project(e["ProjectId"], e["ProjectName"], e["IsDefault"]) for e in answer["ProjectSet"]
    )
    assert {p.id for p in found} == {GOLDEN_PROJECT, OTHER, EMPTY}
    assert [p.id for p in found if p.is_default] == [GOLDEN_PROJECT]
    if order != "default_first":
        assert found[0].id != GOLDEN_PROJECT


def test_sdk_sees_get_region_account_wide(sim: Simulator) -> None:
    answers = []
    for project in (None, GOLDEN_PROJECT, OTHER, EMPTY):
        client = sdk(sim.url, project_id=project)
        raw = watched(client)
        answers.append(client.uaccount().get_region()["Regions"])
        check_schemas(raw)
    assert all(a == answers[0] for a in answers)
    regions = tuple(dict.fromkeys(e["Region"] for e in answers[0]))
    assert regions == ("cn-bj2", "cn-sh2", "hk", "sg")  # sg: only the other project has it
    found = ours(
        sim.url, lambda c: get_regions(c, ACCOUNT, deadline=deadline(), observe=unobserved)
    )
    assert found == regions


@pytest.mark.parametrize("limit", [2, 100])
def test_sdk_pages_every_project_and_region_as_our_client_lists_them(
    sim: Simulator, limit: int
) -> None:
    projects = [p["ProjectId"] for p in sdk(sim.url).uaccount().get_project_list()["ProjectSet"]]
    regions = dict.fromkeys(e["Region"] for e in sdk(sim.url).uaccount().get_region()["Regions"])
    held = {}
    for project in projects:
        client = sdk(sim.url, project_id=project)
        for region in regions:
            theirs = sdk_buckets(client, region, limit)
            listing = our_listing(sim.url, ACCOUNT, region, page_size=limit, project=project)
            assert_same_buckets(listing, theirs)
            held[project, region] = len(theirs)
    assert {target for target, count in held.items() if count} == {
        (GOLDEN_PROJECT, "cn-bj2"), (GOLDEN_PROJECT, "cn-sh2"),
        (OTHER, "cn-bj2"), (OTHER, "hk"), (OTHER, "sg"),
    }  # fmt: skip
    no_project = sdk_buckets(sdk(sim.url), "cn-bj2", limit)  # no ProjectId: the default one
    assert len(no_project) == held[GOLDEN_PROJECT, "cn-bj2"]


@pytest.mark.parametrize("project", [GOLDEN_PROJECT, OTHER, EMPTY])
def test_sdk_lists_each_projects_registry_as_our_client_does(sim: Simulator, project: str) -> None:
    client = sdk(sim.url, project_id=project)
    answers = watched(client)
    seen = sdk_registry(client, tag_page=10)
    if project != EMPTY:
        check_schemas(answers)
    registry = ours(
        sim.url,
        lambda c: list_registry(
            c,
            ACCOUNT,
            UHubSettings(tag_counts="all"),
            deadline=deadline(),
            observe=unobserved,
            project=project,
        ),
    )
    assert_same_registry(registry, seen)
    expected = {GOLDEN_PROJECT: {"golden", "golden-public"}, OTHER: {"team", "team-public"}}
    assert set(seen.repos) == expected.get(project, set())


@pytest.mark.parametrize("http", TRANSPORTS)
def test_our_project_requests_are_signed_and_encoded_as_the_sdks(sim: Simulator, http: str) -> None:
    settings = UHubSettings(tag_counts="all")

    async def everything(client: UCloudClient) -> None:
        args: dict[str, Any] = {"deadline": deadline(), "observe": unobserved}
        await get_projects(client, ACCOUNT, **args)
        await list_image_buckets(client, ACCOUNT, "hk", project=OTHER, **args)
        await list_image_buckets(client, ACCOUNT, "cn-bj2", project="", **args)
        await list_registry(client, ACCOUNT, settings, project=OTHER, **args)

    with Recorder(sim.url) as recorder:
        ours(recorder.url, everything, page_size=1, http=http)
        mine = recorder.take()
        sent = {(r.form["Action"], r.form.get("ProjectId")) for r in mine}
        assert sent == {
            ("GetProjectList", None),
            ("GetImageBucketList", OTHER),
            ("GetImageBucketList", None),
            ("GetRepo", OTHER),
            ("GetRepoImage", OTHER),
            ("GetImageTag", OTHER),
        }
        for request in mine:
            assert_sent_alike(request, sent_by_sdk(recorder, request, sdk))
        (listing,) = [r for r in mine if r.form["Action"] == "GetProjectList"]
        sdk(recorder.url).uaccount().get_project_list()  # the SDK's typed call, too
        (typed,) = recorder.take()
        assert_sent_alike(listing, typed)
    assert sim.request_count() == 2 * len(mine) + 1  # every one answered (signature accepted)
