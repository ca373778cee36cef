"""The simulator's projects: GetProjectList, ProjectId selecting a project's own data."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml

from exporter.simulator import (
    BENCH_PROJECT,
    DEMO_ACCOUNTS,
    DEMO_EXTRA_PROJECTS,
    DEMO_PROJECT,
    FALLBACK_PROJECT,
    NOT_PERMITTED,
    Account,
    Bucket,
    Fault,
    Fleet,
    Image,
    ProjectData,
    Quirks,
    Repo,
    Simulator,
    demo_fleet,
    fleet_from_dict,
    fleetfile,
    project_fleet,
    project_id,
    region_id,
    sign,
)
from exporter.simulator.__main__ import _build_fleet, _parser
from tests.support.gateway import TLS, post

KEY, SECRET = "proj-public-key", "proj-private-key"
LIST = "GetImageBucketList"


def fleet(**account: Any) -> Fleet:
    """One account: default project org-main (cn-bj2: a; hk: none), org-b (cn-bj2: b1, b2;
    sg: s; a repo), org-c (nothing)."""
    main = Account(
        KEY,
        SECRET,
        {"org-main"},
        {"cn-bj2": [Bucket("a", "Private", 1, 1)], "hk": []},
        repos=[Repo("main-repo", 1, 2, images=[Image("web", 3, 1, 2)])],
        **account,
    )
    main.extra_projects = [
        ProjectData(
            "org-b",
            "team b",
            1_700_000_000,
            4,
            {"cn-bj2": [Bucket("b1", "Public", 2, 2), Bucket("b2", "Private", 0, 3)],
             "sg": [Bucket("s", "Private", 9, 4)]},
            [Repo("b-repo", 1, 2, images=[Image("api", 5, 1, 2), Image("db", 0, 1, 2)])],
        ),
        ProjectData("org-c", "team c"),
    ]  # fmt: skip
    return Fleet([main])


def call(client: httpx.Client, **params: Any) -> dict[str, Any]:
    full = {"PublicKey": KEY, **params}
    return post(client, {**full, "Signature": sign(full, SECRET)})


@pytest.fixture
def served() -> Iterator[tuple[Simulator, httpx.Client]]:
    with (
        Simulator(fleet()) as sim,
        httpx.Client(base_url=sim.url, timeout=5, verify=TLS) as client,
    ):
        yield sim, client


def bucket_names(client: httpx.Client, region: str, project: str | None) -> list[str]:
    extra = {} if project is None else {"ProjectId": project}
    body = call(client, Action=LIST, Region=region, Limit=100, **extra)
    assert body["RetCode"] == 0, body
    return [b["BucketName"] for b in body["ImageSet"]]


@pytest.mark.e2e
def test_get_project_list_answers_every_project(served: tuple[Simulator, httpx.Client]) -> None:
    sim, client = served
    body = call(client, Action="GetProjectList")
    assert body == {
        "RetCode": 0,
        "Action": "GetProjectListResponse",
        "ProjectCount": 3,
        "ProjectSet": [
            {"ProjectId": "org-main", "ProjectName": "Default", "IsDefault": True,
             "CreateTime": 1_600_000_000, "MemberCount": 1, "ResourceCount": 2, "ParentId": "",
             "ParentName": ""},
            {"ProjectId": "org-b", "ProjectName": "team b", "IsDefault": False,
             "CreateTime": 1_700_000_000, "MemberCount": 4, "ResourceCount": 4, "ParentId": "",
             "ParentName": ""},
            {"ProjectId": "org-c", "ProjectName": "team c", "IsDefault": False,
             "CreateTime": 1_600_000_000, "MemberCount": 1, "ResourceCount": 0, "ParentId": "",
             "ParentName": ""},
        ],
    }  # fmt: skip
    assert call(client, Action="GetProjectList", ProjectId="org-c") == body  # account-wide
    assert call(client, Action="GetProjectList", IsFinance="Yes") == body
    assert sim.request_count(action="GetProjectList") == 3


@pytest.mark.e2e
def test_project_id_selects_the_projects_own_buckets(
    served: tuple[Simulator, httpx.Client],
) -> None:
    _, client = served
    assert bucket_names(client, "cn-bj2", None) == ["a"]  # no ProjectId: the default project
    assert bucket_names(client, "cn-bj2", "org-main") == ["a"]
    assert bucket_names(client, "cn-bj2", "org-b") == ["b1", "b2"]
    assert bucket_names(client, "sg", "org-b") == ["s"]
    assert bucket_names(client, "sg", None) == []  # the region is the account's, not its buckets
    assert bucket_names(client, "hk", "org-c") == []
    body = call(client, Action=LIST, Region="cn-bj2", ProjectId="org-b", Limit=1, Offset=1)
    assert (body["TotalCount"], [b["BucketName"] for b in body["ImageSet"]]) == (2, ["b2"])
    body = call(client, Action=LIST, Region="us-ca", ProjectId="org-b")
    assert (body["RetCode"], body["Message"]) == (230, "Params [Region] not valid")


@pytest.mark.e2e
def test_get_region_is_account_wide(served: tuple[Simulator, httpx.Client]) -> None:
    _, client = served
    answers = [call(client, Action="GetRegion", **extra)["Regions"]
               for extra in ({}, {"ProjectId": "org-b"}, {"ProjectId": "org-c"})]  # fmt: skip
    assert answers[0] == answers[1] == answers[2]
    assert list(dict.fromkeys(r["Region"] for r in answers[0])) == ["cn-bj2", "hk", "sg"]


@pytest.mark.e2e
def test_project_id_selects_the_projects_own_registry(
    served: tuple[Simulator, httpx.Client],
) -> None:
    _, client = served

    def repos(**extra: str) -> list[str]:
        body = call(client, Action="GetRepo", Type="private", **extra)
        return [r["RepoName"] for r in body["RepoSet"]]

    assert repos() == repos(ProjectId="org-main") == ["main-repo"]
    assert repos(ProjectId="org-b") == ["b-repo"]
    assert repos(ProjectId="org-c") == []
    body = call(client, Action="GetRepoImage", RepoName="b-repo", ProjectId="org-b")
    assert [i["ImageName"] for i in body["ImageSet"]] == ["api", "db"]
    body = call(client, Action="GetRepoImage", RepoName="b-repo")  # not in the default project
    assert body["RetCode"] == 231


@pytest.mark.e2e
@pytest.mark.parametrize("action", ["GetProjectList", "GetRegion", LIST, "GetRepo"])
def test_an_unknown_project_is_292(served: tuple[Simulator, httpx.Client], action: str) -> None:
    _, client = served
    body = call(client, Action=action, Region="cn-bj2", ProjectId="org-nope")
    assert (body["RetCode"], body["Message"]) == (292, "project not exist")


@pytest.mark.e2e
def test_a_key_not_permitted_to_list_projects() -> None:
    with (
        Simulator(fleet(may_list_projects=False)) as sim,
        httpx.Client(base_url=sim.url, timeout=5, verify=TLS) as client,
    ):
        body = call(client, Action="GetProjectList")
        assert body == {
            "RetCode": NOT_PERMITTED[0],
            "Action": "GetProjectListResponse",
            "Message": NOT_PERMITTED[1],
        }
        assert NOT_PERMITTED[0] == 299  # UCloud's "IAM permission check failed"
        assert bucket_names(client, "cn-bj2", "org-b") == ["b1", "b2"]  # the rest works


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("order", "expected"),
    [
        ("default_first", ["org-main", "org-b", "org-c"]),
        ("default_last", ["org-b", "org-c", "org-main"]),
    ],
)
def test_project_order(order: str, expected: list[str]) -> None:
    with (
        Simulator(fleet(project_order=order)) as sim,
        httpx.Client(base_url=sim.url, timeout=5, verify=TLS) as client,
    ):
        body = call(client, Action="GetProjectList")
    assert [p["ProjectId"] for p in body["ProjectSet"]] == expected
    assert [p["ProjectId"] for p in body["ProjectSet"] if p["IsDefault"]] == ["org-main"]


@pytest.mark.e2e
def test_shuffled_order_never_puts_the_default_first_and_is_stable() -> None:
    seen = []
    for key in ("k1", "k2", "k3", "k4"):
        account = Account(key, "s", {"org-0"}, project_order="shuffled")
        account.extra_projects = [ProjectData(f"org-{n}") for n in range(1, 6)]
        sim_fleet = Fleet([account])
        with (
            Simulator(sim_fleet) as sim,
            httpx.Client(base_url=sim.url, timeout=5, verify=TLS) as client,
        ):
            orders = []
            for _ in range(2):
                full = {"PublicKey": key, "Action": "GetProjectList"}
                body = post(client, {**full, "Signature": sign(full, "s")})
                orders.append([p["ProjectId"] for p in body["ProjectSet"]])
        assert orders[0] == orders[1]
        assert orders[0][0] != "org-0"
        assert sorted(orders[0]) == [f"org-{n}" for n in range(6)]
        seen.append(tuple(orders[0]))
    assert len(set(seen)) > 1  # not one fixed permutation for every account


@pytest.mark.e2e
def test_quirks_shape_get_project_list(served: tuple[Simulator, httpx.Client]) -> None:
    sim, client = served
    sim.add_fault(Fault(quirks=Quirks(omit_total=True, omit_fields=("ProjectName",)), times=1))
    body = call(client, Action="GetProjectList")
    assert "ProjectCount" not in body
    assert all("ProjectName" not in p for p in body["ProjectSet"])
    sim.add_fault(Fault(quirks=Quirks(total_count=7, omit_zero=True)), action="GetProjectList")
    body = call(client, Action="GetProjectList")
    assert body["ProjectCount"] == 7
    assert "ResourceCount" not in body["ProjectSet"][2]
    assert body["ProjectSet"][2]["IsDefault"] is False  # false is not a zero


def test_the_default_project_id() -> None:
    assert Account("k", "s").default_project == FALLBACK_PROJECT
    assert Account("k", "s").projects == {FALLBACK_PROJECT}
    assert Account("k", "s", {"org-b", "org-a"}).default_project == "org-a"
    assert Account("k", "s", {"org-b", "org-a"}, default_project="org-b").project().id == "org-b"
    account = Account("k", "s", {"org-a"}, {"r": [Bucket("x", "Private", 1, 1)]})
    account.regions = {"r": []}  # reassigned: the default project's view follows
    assert account.project("org-a").regions == {"r": []}
    with pytest.raises(KeyError):
        account.project("org-z")


def test_project_ids_are_unique() -> None:
    with pytest.raises(ValueError, match="used twice"):
        Account("k", "s", {"org-a"}, extra_projects=[ProjectData("org-a")])
    with pytest.raises(ValueError, match="used twice"):
        Account("k", "s", extra_projects=[ProjectData("org-b"), ProjectData("org-b")])
    late = Account("k", "s", {"org-a"})
    late.extra_projects = [ProjectData("org-a")]
    with pytest.raises(ValueError, match="'org-a' is used twice"):
        Fleet([late])
    with pytest.raises(ValueError, match="project_order"):
        Account("k", "s", project_order="random")
    with pytest.raises(ValueError, match="non-empty id"):
        ProjectData("")


def test_fleet_methods_take_a_project() -> None:
    sim_fleet = fleet()
    assert sim_fleet.projects(KEY) == ["org-main", "org-b", "org-c"]
    assert sim_fleet.regions(KEY) == ["cn-bj2", "hk", "sg"]
    assert sim_fleet.targets(KEY) == [("org-main", "cn-bj2"), ("org-b", "cn-bj2"), ("org-b", "sg")]
    assert [b.name for b in sim_fleet.buckets(KEY, "cn-bj2", project="org-b")] == ["b1", "b2"]
    sim_fleet.add_bucket(KEY, "hk", Bucket("c", "Private", 0, 0), project="org-c")
    assert sim_fleet.query(KEY, "hk", project="org-c")[0] == 1
    assert sim_fleet.query(KEY, "hk")[0] == 0
    sim_fleet.remove_bucket(KEY, "cn-bj2", "b1", project="org-b")
    with pytest.raises(KeyError):
        sim_fleet.remove_bucket(KEY, "cn-bj2", "b1", project="org-b")
    sim_fleet.set_quirks(KEY, "sg", Quirks(omit_total=True), project="org-b")
    assert sim_fleet.quirks(KEY, "sg", project="org-b").omit_total
    assert not sim_fleet.quirks(KEY, "sg").omit_total
    assert sim_fleet.size() == 4  # a, b2, s, c


def test_the_demo_fleets_first_account_has_more_projects() -> None:
    demo = demo_fleet()
    main, staging = (demo.account(public_key) for _, public_key, _, _ in DEMO_ACCOUNTS)
    assert main is not None and staging is not None
    assert main.default_project == staging.default_project == DEMO_PROJECT
    assert demo.projects(main.public_key) == [DEMO_PROJECT, *(p[0] for p in DEMO_EXTRA_PROJECTS)]
    assert demo.projects(staging.public_key) == [DEMO_PROJECT]
    extra = main.extra_projects
    assert [p.id for p in extra if p.repos] == ["org-demo-data"]
    assert all(set(p.regions) <= set(main.regions) for p in extra)  # GetRegion unchanged
    assert demo_fleet().targets(main.public_key) == demo.targets(main.public_key)
    assert len(demo.targets(main.public_key)) == 8


FLEET_FILE = {
    "accounts": [
        {
            "public_key": KEY,
            "private_key": SECRET,
            "projects": [
                "org-a",
                {"id": "org-b", "name": "team-b", "create_time": 1_700_000_000,
                 "member_count": 3, "resource_count": 9,
                 "regions": {"cn-bj2": {"synthetic": 5, "quirks": {"omit_total": True}},
                             "hk": {}},
                 "repos": [{"name": "web", "images": 3}]},
                "org-a-alias",
            ],
            "default_project_name": "main",
            "default_project_created": 1_500_000_000,
            "default_project_members": 12,
            "project_order": "default_last",
            "regions": {"cn-bj2": {"synthetic": 2}},
        }
    ]
}  # fmt: skip


def test_fleet_file_projects() -> None:
    account = fleet_from_dict(FLEET_FILE).account(KEY)
    assert account is not None
    assert account.default_project == "org-a"  # the first plain id, not the smallest
    assert account.projects == {"org-a", "org-a-alias"}
    assert account.project("org-a-alias").id == "org-a"
    assert (account.default_project_name, account.default_project_created) == ("main", 1.5e9)
    assert account.default_project_members == 12
    assert (account.project_order, account.may_list_projects) == ("default_last", True)
    (extra,) = account.extra_projects
    assert (extra.id, extra.name, extra.create_time, extra.member_count) == (
        "org-b", "team-b", 1_700_000_000, 3,
    )  # fmt: skip
    assert extra.resources() == 9
    assert [len(b) for b in extra.regions.values()] == [5, 0]
    assert extra.quirks["cn-bj2"].omit_total and not account.quirks
    assert [r.name for r in extra.repos] == ["web"] and account.repos == []
    minimal = fleet_from_dict({"accounts": [{"public_key": "k", "private_key": "s",
                                             "projects": [{"id": "org-x"}],
                                             "may_list_projects": False}]})  # fmt: skip
    only = minimal.account("k")
    assert only is not None and not only.may_list_projects
    assert minimal.projects("k") == [FALLBACK_PROJECT, "org-x"]


def _with(**changes: Any) -> dict[str, Any]:
    account = {**FLEET_FILE["accounts"][0], **changes}
    return {"accounts": [account]}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_with(projects="org-a"), "accounts[0].projects: must be a list"),
        (_with(projects=["org-a", {"id": "org-a"}]), "projects: id 'org-a' is listed twice"),
        (_with(projects=[{"id": "b"}, {"id": "b"}]), "projects: id 'b' is listed twice"),
        (_with(projects=[{"name": "x"}]), "projects[0].id: must be a non-empty string"),
        (_with(projects=[{"id": "b", "quirks": {}}]), "projects[0].quirks: unknown field"),
        (_with(projects=[{"id": "b", "member_count": -1}]), "member_count: must be a non-neg"),
        (_with(projects=[{"id": "b", "repos": {}}]), "projects[0].repos: must be a list"),
        (_with(projects=[{"id": "b", "regions": []}]), "projects[0].regions: must be a mapping"),
        (_with(project_order="random"), "project_order: must be one of default_first"),
        (_with(may_list_projects="no"), "may_list_projects: must be true or false"),
        (_with(default_project_name=3), "default_project_name: must be a string"),
    ],
)
def test_fleet_file_project_mistakes(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        fleet_from_dict(data)


def test_project_fleet_holds_buckets_in_only_some_targets() -> None:
    generated = project_fleet(seed=3)
    key = "bench-public-key"
    assert generated.projects(key) == [project_id(p) for p in range(20)]
    assert project_id(0) == BENCH_PROJECT and project_id(1) == "org-bench-02"
    assert generated.regions(key) == [region_id(r) for r in range(25)]
    targets = generated.targets(key)
    assert len(targets) == len(set(targets)) == 50
    assert generated.size() == 50 * 20
    assert len({p for p, _ in targets}) > 5 and len({r for _, r in targets}) > 5  # spread out
    assert targets == project_fleet(seed=3).targets(key) != project_fleet(seed=4).targets(key)
    small = project_fleet(projects=2, regions=3, occupied=6, buckets_per_target=1)
    assert len(small.targets(key)) == 6
    assert project_fleet(projects=1, regions=1, occupied=0).targets(key) == []
    with pytest.raises(ValueError, match="occupied must be 0 to projects"):
        project_fleet(occupied=501)
    with pytest.raises(ValueError, match="projects and regions"):
        project_fleet(projects=0)
    with pytest.raises(ValueError, match="buckets_per_target"):
        project_fleet(buckets_per_target=0)


@pytest.mark.e2e
def test_project_fleet_served() -> None:
    generated = project_fleet(projects=4, regions=3, occupied=4, buckets_per_target=2, seed=1)
    key, secret = "bench-public-key", "bench-private-key"
    with (
        Simulator(generated) as sim,
        httpx.Client(base_url=sim.url, timeout=5, verify=TLS) as client,
    ):

        def ask(**params: Any) -> dict[str, Any]:
            full = {"PublicKey": key, **params}
            return post(client, {**full, "Signature": sign(full, secret)})

        listed = ask(Action="GetProjectList")
        assert [p["ProjectId"] for p in listed["ProjectSet"]] == [project_id(p) for p in range(4)]
        held = {
            (project, region)
            for project in (p["ProjectId"] for p in listed["ProjectSet"])
            for region in (region_id(r) for r in range(3))
            if ask(Action=LIST, Region=region, ProjectId=project)["TotalCount"]
        }
    assert held == set(generated.targets(key))


def test_the_command_line_builds_a_project_fleet() -> None:
    args = _parser().parse_args(
        ["--fleet", "projects", "--projects", "3", "--regions", "4", "--occupied", "5",
         "--buckets", "2", "--seed", "9"]
    )  # fmt: skip
    built = _build_fleet(args)
    expected = project_fleet(projects=3, regions=4, occupied=5, buckets_per_target=2, seed=9)
    key = "bench-public-key"
    assert built.projects(key) == expected.projects(key)
    assert built.targets(key) == expected.targets(key)
    assert built.size() == 10


def test_the_documented_fleet_file_loads() -> None:
    """The example in exporter/simulator/fleetfile.py's docstring is a valid fleet file."""
    doc = fleetfile.__doc__ or ""
    block = doc.split("::\n\n", 1)[1].split("\n\n", 1)[0]
    example = yaml.safe_load(textwrap.dedent(block))
    documented = fleet_from_dict(example).account("hostile-public-key")
    assert documented is not None
    assert [p.id for p in documented.all_projects()] == ["org-hostile", "org-team-b"]
    assert not documented.may_list_projects and documented.project_order == "default_last"
    assert documented.extra_projects[0].repos[0].name == "web"
