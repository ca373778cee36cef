"""Our client's GetProjectList: odd answers parsed, hostile ones bounded, the simulator read."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from exporter.simulator import Account, Bucket, Fault, Fleet, ProjectData, Simulator
from exporter.ucloud import APIError, DecodeError, Project
from exporter.ucloud._projects import (
    MAX_PROJECT_ID_CHARS,
    MAX_PROJECT_NAME_CHARS,
    MAX_PROJECTS,
    parse_projects,
)
from tests.support.inprocess import projects_over

CAP = 8 * 1024 * 1024  # ucloud.max_response_bytes' default


def entry(pid: str, **fields: Any) -> dict[str, Any]:
    """A full ProjectSet entry, as UCloud's API reference shows one."""
    full = {"ProjectId": pid, "ProjectName": f"name of {pid}", "IsDefault": False}
    return {**full, "CreateTime": 1_600_000_000, "MemberCount": 1, "ResourceCount": 0, **fields}


def parsed(*entries: Any) -> tuple[Project, ...]:
    return parse_projects({"RetCode": 0, "ProjectCount": len(entries), "ProjectSet": [*entries]})


def test_the_api_references_example() -> None:
    body = {
        "Action": "GetProjectListResponse",
        "ProjectCount": 2,
        "ProjectSet": [
            {"CreateTime": 1342434682, "IsDefault": True, "MemberCount": 1, "ProjectId": "org-1",
             "ProjectName": "ucloud", "ResourceCount": 52},
            {"CreateTime": 1468225814, "IsDefault": False, "MemberCount": 0, "ProjectId": "org-2",
             "ProjectName": "test", "ResourceCount": 10},
        ],
        "RetCode": 0,
    }  # fmt: skip
    assert parse_projects(body) == (
        Project("org-1", "ucloud", True),
        Project("org-2", "test", False),
    )


@pytest.mark.parametrize(
    ("flag", "default"),
    [
        (True, True), (False, False), (1, True), (0, False), ("true", True), ("True", True),
        ("1", True), ("false", False), ("0", False), ("", False), (None, False), (2, False),
        (1.0, False), ([True], False), ({}, False),
    ],
)  # fmt: skip
def test_is_default_as_a_bool_a_number_or_a_string(flag: Any, default: bool) -> None:
    (project,) = parsed(entry("org-a", IsDefault=flag))
    assert project.is_default is default
    (project,) = parsed({"ProjectId": "org-a"})  # left out: not the default
    assert project == Project("org-a", "", False)


@pytest.mark.parametrize("name", [None, 3, ["a"], {"a": 1}, True])
def test_a_missing_or_malformed_name_is_empty(name: Any) -> None:
    fields = {} if name is None else {"ProjectName": name}
    assert parsed({"ProjectId": "org-a", "IsDefault": True, **fields}) == (
        Project("org-a", "", True),
    )


def test_duplicate_ids_are_one_project() -> None:
    projects = parsed(
        entry("org-a", ProjectName="first"),
        entry("org-b"),
        entry("org-a", ProjectName="second", IsDefault=True),  # default if any entry says so
        entry(" org-b "),  # the same id, padded
    )
    assert projects == (Project("org-a", "first", True), Project("org-b", "name of org-b", False))
    unnamed = entry("org-a", ProjectName="")
    assert parsed(unnamed, entry("org-a", ProjectName="x", IsDefault=1)) == (
        Project("org-a", "x", True),
    )


def test_only_the_first_default_stays_the_default() -> None:
    projects = parsed(entry("org-a"), entry("org-b", IsDefault=True), entry("org-c", IsDefault=1))
    assert [p.id for p in projects if p.is_default] == ["org-b"]
    assert [p.id for p in projects] == ["org-a", "org-b", "org-c"]  # the answer's order


def test_no_default_and_no_projects_are_answers_too() -> None:
    assert [p.is_default for p in parsed(entry("org-a"), entry("org-b"))] == [False, False]
    assert parsed() == ()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"RetCode": 0}, "ProjectSet is a JSON NoneType, not an array"),
        ({"ProjectSet": {"ProjectId": "org-a"}}, "ProjectSet is a JSON dict, not an array"),
        ({"ProjectSet": ["org-a"]}, "a ProjectSet entry is not an object"),
        ({"ProjectSet": [entry("org-a"), None]}, "a ProjectSet entry is not an object"),
        ({"ProjectSet": [entry("org-a"), [entry("org-b")]]}, "a ProjectSet entry is not an object"),
        ({"ProjectSet": [{"ProjectName": "x"}]}, "a ProjectSet entry has no ProjectId"),
        ({"ProjectSet": [entry(" ")]}, "a ProjectSet entry has no ProjectId"),
        ({"ProjectSet": [{"ProjectId": 42}]}, "a ProjectSet entry has no ProjectId"),
        (
            {"ProjectSet": [entry("o" * (MAX_PROJECT_ID_CHARS + 1))]},
            f"a ProjectId is longer than {MAX_PROJECT_ID_CHARS} characters",
        ),
        (
            {"ProjectSet": [entry(f"org-{n}") for n in range(MAX_PROJECTS + 1)]},
            f"ProjectSet holds {MAX_PROJECTS + 1} entries, more than {MAX_PROJECTS}",
        ),
    ],
)
def test_unusable_answers(body: dict[str, Any], message: str) -> None:
    with pytest.raises(DecodeError) as caught:
        parse_projects(body)
    assert str(caught.value) == message


def test_names_are_cut_and_lone_surrogates_replaced() -> None:
    long = parsed(entry("org-a", ProjectName="x" * (MAX_PROJECT_NAME_CHARS * 4)))[0]
    assert long.name == "x" * MAX_PROJECT_NAME_CHARS
    odd = parsed(entry("org-\ud800", ProjectName="a\udc00b"))[0]
    assert (odd.id, odd.name) == ("org-\ufffd", "a\ufffdb")
    most = parsed(*(entry(f"org-{n}") for n in range(MAX_PROJECTS)))
    assert len(most) == MAX_PROJECTS


# --- against the simulator --------------------------------------------------------------------


def fleet(**account: Any) -> Fleet:
    """The account ``tests.support.inprocess.ACCOUNT`` signs as, with three projects."""
    main = Account("pub", "priv", {"org-main"}, {"cn-bj2": []}, **account)
    main.extra_projects = [
        ProjectData("org-b", "team b", regions={"cn-bj2": [Bucket("b", "Private", 1, 1)]}),
        ProjectData("org-c", ""),
    ]
    return Fleet([main])


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(fleet()) as served:
        yield served


@pytest.mark.e2e
def test_our_client_reads_the_simulators_projects(sim: Simulator) -> None:
    assert projects_over(sim.url) == (
        Project("org-main", "Default", True),
        Project("org-b", "team b", False),
        Project("org-c", "", False),
    )
    assert sim.request_count(action="GetProjectList") == 1


@pytest.mark.e2e
def test_the_default_project_need_not_come_first() -> None:
    with Simulator(fleet(project_order="default_last")) as sim:
        projects = projects_over(sim.url)
    assert [(p.id, p.is_default) for p in projects] == [
        ("org-b", False), ("org-c", False), ("org-main", True),
    ]  # fmt: skip


@pytest.mark.e2e
def test_a_key_not_permitted_to_list_projects() -> None:
    with Simulator(fleet(may_list_projects=False)) as sim:
        with pytest.raises(APIError) as caught:
            projects_over(sim.url, retries=2)
        assert sim.request_count(action="GetProjectList") == 1  # not retried
    assert (caught.value.code, caught.value.reason, caught.value.is_auth) == (
        299, "retcode_299", True,
    )  # fmt: skip
    assert caught.value.action == "GetProjectList"


# --- hostile answers stay bounded -------------------------------------------------------------


def hostile(body: dict[str, Any]) -> Fault:
    """Answer GetProjectList with ``body`` (RetCode 0) as raw JSON bytes."""
    text = json.dumps({"RetCode": 0, "Action": "GetProjectListResponse", **body})
    return Fault(body=text.encode("utf-8"))


def hundred_thousand() -> dict[str, Any]:
    """100,000 projects (about 17 MB)."""
    return {"ProjectCount": 100_000, "ProjectSet": [entry(f"org-{n:06d}") for n in range(100_000)]}


def ten_mb_name() -> dict[str, Any]:
    """One project whose name is 10,000,000 characters."""
    return {"ProjectCount": 1, "ProjectSet": [entry("org-a", ProjectName="n" * 10_000_000)]}


@pytest.mark.e2e
@pytest.mark.parametrize("body", [hundred_thousand, ten_mb_name])
def test_an_answer_over_max_response_bytes_is_refused_by_name(
    sim: Simulator, body: Callable[[], dict[str, Any]]
) -> None:
    sim.add_fault(hostile(body()), action="GetProjectList")
    with pytest.raises(DecodeError) as caught:
        projects_over(sim.url)
    assert str(caught.value) == f"response body larger than {CAP} bytes (ucloud.max_response_bytes)"
    assert caught.value.reason == "decode"
    assert caught.value.request_id  # the gateway's, for UCloud support


@pytest.mark.e2e
def test_within_a_raised_cap_100k_projects_are_still_refused(sim: Simulator) -> None:
    sim.add_fault(hostile(hundred_thousand()), action="GetProjectList")
    with pytest.raises(DecodeError) as caught:
        projects_over(sim.url, max_response_bytes=64 * 1024 * 1024)
    assert str(caught.value) == f"ProjectSet holds 100000 entries, more than {MAX_PROJECTS}"


@pytest.mark.e2e
def test_within_a_raised_cap_a_10mb_name_is_cut(sim: Simulator) -> None:
    sim.add_fault(hostile(ten_mb_name()), action="GetProjectList")
    (project,) = projects_over(sim.url, max_response_bytes=16 * 1024 * 1024)
    assert (project.id, project.name) == ("org-a", "n" * MAX_PROJECT_NAME_CHARS)
