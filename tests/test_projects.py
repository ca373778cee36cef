"""Projects (issue 21): ``project_id: auto | [a, b] | ID | none``, the ``project`` label, UHub
per project, and what a slow, refusing or lying GetProjectList costs (in process, over the
simulator)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from exporter import config
from exporter.config import ConfigError
from exporter.simulator import (
    Account,
    Bucket,
    Fault,
    Fleet,
    GeneratedImages,
    Image,
    ProjectData,
    Repo,
    Simulator,
)
from exporter.web.app import App
from tests.support.asgi import call, runtime_on
from tests.support.procs import Samples, config_for, run_cli, value

KEY, SECRET = "proj-public-key", "proj-private-key"
OTHER_KEY, OTHER_SECRET = "other-public-key", "other-private-key"
UP = "ucloud_image_bucket_up"
IMAGES = "ucloud_image_bucket_images"
T0 = 1_700_000_000


def bucket(name: str, images: int = 3) -> Bucket:
    return Bucket(name, "Private", images, T0)


def project_fleet(*, may_list: bool = True, order: str = "default_first") -> Fleet:
    """One account of three projects: the default (``org-a``, buckets in cn-bj2), ``org-b``
    (hk; a UHub repository) and ``org-c`` (nothing at all); and a bystander account."""
    main = Account(
        KEY,
        SECRET,
        {"org-a"},
        {"cn-bj2": [bucket("a/one"), bucket("a/two")], "hk": []},
        default_project="org-a",
        may_list_projects=may_list,
        project_order=order,
        repos=[Repo("repo-a", T0, T0, images=[Image("web", 5, T0, T0)])],
    )
    main.extra_projects = [
        ProjectData(
            "org-b",
            "B",
            regions={"hk": [bucket("b/one", 7)]},
            repos=[Repo("repo-b", T0, T0, images=[Image("api", 9, T0, T0)])],
        ),
        ProjectData("org-c", "C"),
    ]
    other = Account(OTHER_KEY, OTHER_SECRET, set(), {"cn-bj2": [bucket("o/one")]})
    return Fleet([main, other])


def account(**extra: Any) -> dict[str, Any]:
    return {"name": "main", "public_key": KEY, "private_key": SECRET, "regions": ["cn-bj2", "hk"],
            **extra}  # fmt: skip


BYSTANDER = {"name": "other", "public_key": OTHER_KEY, "private_key": OTHER_SECRET,
             "project_id": "org-default", "regions": ["cn-bj2"]}  # fmt: skip


@pytest.fixture
def served() -> Iterator[Simulator]:
    with Simulator(project_fleet()) as sim:
        yield sim


def up_targets(m: Samples) -> dict[tuple[str, str, str], float]:
    """Return every target's ``…_up`` by (account, project, region)."""
    return {
        (d["account"], d["project"], d["region"]): v
        for (name, labels), v in m.items()
        if name == UP
        for d in [dict(labels)]
    }


@pytest.mark.e2e
def test_project_id_auto_makes_one_target_per_project_and_region(served, tmp_path):
    cfg = config_for(served.url, [account(project_id="auto"), BYSTANDER])
    with runtime_on(tmp_path, cfg) as (runtime, _):
        app = App(runtime)
        pages = [call(app).samples() for _ in range(3)]
    ups = up_targets(pages[0])
    assert ups == {
        **{("main", p, r): 1 for p in ("org-a", "org-b", "org-c") for r in ("cn-bj2", "hk")},
        ("other", "org-default", "cn-bj2"): 1,
    }
    m = pages[-1]
    assert value(m, IMAGES, account="main", project="org-b", region="hk", bucket="b/one",
                 type="private") == 7  # fmt: skip
    assert value(m, IMAGES, account="main", project="org-a", bucket="a/one", region="cn-bj2",
                 type="private") == 3  # fmt: skip
    assert value(m, "ucloud_image_bucket_project_discovery_projects", account="main") == 3
    assert value(m, "ucloud_image_bucket_project_discovery_success", account="main") == 1
    requests = "ucloud_image_bucket_account_api_requests_total"
    assert value(m, requests, account="main", action="GetProjectList") == 1  # cached
    assert served.request_count(action="GetProjectList") == 1  # the bystander has its project
    assert not [k for k in m if ("project", "") in k[1] or ("region", "") in k[1]]


@pytest.mark.e2e
def test_a_project_list_lists_only_those_projects_and_never_calls_get_project_list(
    served, tmp_path
):
    cfg = config_for(served.url, [account(project_id=["org-b", "org-c"])])
    with runtime_on(tmp_path, cfg) as (runtime, _):
        m = call(App(runtime)).samples()
    assert set(up_targets(m)) == {
        ("main", p, r) for p in ("org-b", "org-c") for r in ("cn-bj2", "hk")
    }
    assert served.request_count(action="GetProjectList") == 0
    assert not any(name == "ucloud_image_bucket_project_discovery_success" for name, _ in m)


@pytest.mark.e2e
@pytest.mark.parametrize("order", ["default_first", "default_last", "shuffled"])
def test_no_project_id_resolves_the_default_project_once(tmp_path, order):
    with Simulator(project_fleet(order=order)) as sim:
        cfg = config_for(sim.url, [account()])
        with runtime_on(tmp_path, cfg) as (runtime, _):
            app = App(runtime)
            pages = [call(app).samples() for _ in range(3)]
        assert sim.request_count(action="GetProjectList") == 1
    assert up_targets(pages[-1]) == {("main", "org-a", "cn-bj2"): 1, ("main", "org-a", "hk"): 1}


@pytest.mark.e2e
def test_a_key_that_may_not_list_projects_is_labelled_default_and_logged_once(tmp_path, caplog):
    with Simulator(project_fleet(may_list=False)) as sim:
        cfg = config_for(sim.url, [account()])
        with (
            caplog.at_level(logging.WARNING, logger="exporter.discovery"),
            runtime_on(tmp_path, cfg) as (runtime, _),
        ):
            app = App(runtime)
            pages = [call(app).samples() for _ in range(3)]
        assert sim.request_count(action="GetProjectList") == 1  # refused once: not asked again
    # Its listings send no ProjectId (the simulator answers 292 for one it does not know).
    assert up_targets(pages[-1]) == {("main", "default", "cn-bj2"): 1, ("main", "default", "hk"): 1}
    warned = [r for r in caplog.records if "cannot resolve the default project" in r.getMessage()]
    assert len(warned) == 1 and "RetCode 299" in warned[0].getMessage()


@pytest.mark.e2e
def test_a_probe_chooses_a_project_and_an_unknown_one_is_a_400(served, tmp_path):
    cfg = config_for(served.url, [account(project_id="auto")])
    with runtime_on(tmp_path, cfg) as (runtime, _):
        app = App(runtime)
        one = call(app, "/probe", query="account=main&project=org-b&region=hk")
        every = call(app, "/probe", query="account=main&project=org-b")
        unknown = call(app, "/probe", query="account=main&project=org-zzz")
    assert one.status == 200 and set(up_targets(one.samples())) == {("main", "org-b", "hk")}
    assert set(up_targets(every.samples())) == {
        ("main", "org-b", "cn-bj2"),
        ("main", "org-b", "hk"),
    }
    assert unknown.status == 400 and "project 'org-zzz'" in unknown.text


@pytest.mark.e2e
def test_uhub_is_listed_per_project(served, tmp_path):
    cfg = config_for(served.url, [account(project_id="auto", uhub=True)])
    with runtime_on(tmp_path, cfg) as (runtime, _):
        app = App(runtime)
        deadline = time.monotonic() + 15
        while True:
            m = call(app).samples()
            ups = {dict(k)["project"] for n, k in m if n == "ucloud_uhub_up"}
            if ups == {"org-a", "org-b", "org-c"} or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    assert ups == {"org-a", "org-b", "org-c"}
    pulls = "ucloud_uhub_image_pulls_total"
    assert value(m, pulls, account="main", project="org-a", repo="repo-a", image="web") == 5
    assert value(m, pulls, account="main", project="org-b", repo="repo-b", image="api") == 9
    assert value(m, "ucloud_uhub_repos", account="main", project="org-c") == 0


@pytest.mark.e2e
def test_a_reload_storm_never_lists_the_projects_again(served, tmp_path):
    cfg = config_for(served.url, [account(project_id="auto"), BYSTANDER])
    with runtime_on(tmp_path, cfg) as (runtime, path):
        app = App(runtime)
        call(app)
        for i in range(20):  # unchanged, or with the other account changed
            regions = ["cn-bj2", "hk"] if i % 4 == 1 else ["cn-bj2"]
            accounts = [cfg["accounts"][0], {**BYSTANDER, "regions": regions}]
            path.write_text(yaml.safe_dump({**cfg, "accounts": accounts}))
            assert runtime.reload() is True
        m = call(app).samples()
    assert served.request_count(action="GetProjectList") == 1
    assert len([t for t in up_targets(m) if t[0] == "main"]) == 6


@pytest.mark.e2e
def test_a_hanging_get_project_list_costs_only_its_account_and_the_scrape_ends_in_time(
    served, tmp_path
):
    served.add_fault(Fault(delay=30), action="GetProjectList")
    cfg = config_for(served.url, [account(project_id="auto"), BYSTANDER],
                     ucloud={"timeout_seconds": 30, "retries": 0})  # fmt: skip
    with runtime_on(tmp_path, cfg) as (runtime, _):
        app = App(runtime)
        started = time.monotonic()
        answer = call(app, headers={"X-Prometheus-Scrape-Timeout-Seconds": "3"})
        took = time.monotonic() - started
    assert answer.status == 200 and took < 3.5
    assert up_targets(answer.samples()) == {("other", "org-default", "cn-bj2"): 1}


@pytest.mark.e2e
def test_a_failing_refresh_keeps_the_known_projects_and_a_lying_answer_is_refused(served, tmp_path):
    collect = {"project_refresh_seconds": 1, "empty_interval_seconds": 0}
    cfg = config_for(served.url, [account(project_id="auto")], collect=collect)
    with runtime_on(tmp_path, cfg) as (runtime, _):
        app = App(runtime)
        assert len(up_targets(call(app).samples())) == 6
        many = [{"ProjectId": f"org-{i}", "ProjectName": "x", "IsDefault": i == 0}
                for i in range(5000)]  # fmt: skip
        served.add_fault(
            Fault(mutate=lambda body: {**body, "ProjectSet": many, "ProjectCount": 5000}),
            action="GetProjectList",
        )
        time.sleep(1.1)
        m = call(app).samples()
        assert len(up_targets(m)) == 6  # the known projects keep serving
        assert value(m, "ucloud_image_bucket_project_discovery_success", account="main") == 0
        served.clear_faults()
        time.sleep(1.1)
        m = call(app).samples()
    assert value(m, "ucloud_image_bucket_project_discovery_success", account="main") == 1


@pytest.mark.e2e
def test_a_project_that_goes_away_takes_its_series_with_it(tmp_path):
    fleet = project_fleet()
    with Simulator(fleet) as sim:
        cfg = config_for(sim.url, [account(project_id="auto")],
                         collect={"project_refresh_seconds": 1})  # fmt: skip
        with runtime_on(tmp_path, cfg) as (runtime, _):
            app = App(runtime)
            assert ("main", "org-c", "hk") in up_targets(call(app).samples())
            with fleet.locked(KEY) as acc:
                acc.extra_projects = acc.extra_projects[:1]
            time.sleep(1.1)
            call(app)  # the refresh that finds org-c gone
            text = call(app).text
    assert 'project="org-c"' not in text and 'project="org-b"' in text


@pytest.mark.parametrize(
    ("project_id", "problem"),
    [
        ([], "accounts[0].project_id: must be a non-empty list of project ids, or auto"),
        (["org-a", "org-a"], "accounts[0].project_id[1]: duplicate project 'org-a'"),
        (["org-a", 7], "accounts[0].project_id[1]: must be a project id like org-abc123, got 7"),
        (["auto"], "accounts[0].project_id[0]: must be a project id like org-abc123"),
        ("org a", "accounts[0].project_id: must be a project id like org-abc123, a list, or auto"),
        ({"id": 1}, "accounts[0].project_id: must be a string"),
    ],
)
def test_bad_project_ids_are_one_line_each_with_their_key_path(project_id, problem):
    with pytest.raises(ConfigError) as info:
        config.parse({"accounts": [account(project_id=project_id)]}, source="c.yaml", env={})
    assert any(p.startswith(f"c.yaml: {problem}") for p in info.value.problems), info.value.problems


def test_project_settings_parse(tmp_path: Path):
    parsed = config.parse(
        {"accounts": [account(project_id="auto"), {**account(project_id=["org-b"]), "name": "b"}],
         "collect": {"project_refresh_seconds": 60, "empty_interval_seconds": 0}},
        env={},
    )  # fmt: skip
    auto, listed = parsed.accounts
    assert auto.discover_projects and auto.projects == () and auto.project_id is None
    assert not listed.discover_projects and listed.projects == ("org-b",)
    assert parsed.collect.project_refresh_seconds == 60
    assert parsed.collect.empty_interval_seconds == 0


@pytest.mark.e2e
def test_config_check_says_which_projects_and_regions_each_account_lists(tmp_path: Path):
    path = tmp_path / "c.yaml"
    accounts = [account(project_id="auto", regions="auto"), {**account(project_id=["a", "b"]),
                "name": "two"}, {**account(), "name": "plain", "regions": ["hk"]}]  # fmt: skip
    path.write_text(yaml.safe_dump({"accounts": accounts}))
    done = run_cli("--config.file", str(path), "--config.check")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"{path}: OK (3 accounts, 5 targets, 1 accounts with discovered projects or regions)",
        "  main: static; projects: auto (GetProjectList); regions: auto (GetRegion)",
        "  two: static; projects: a, b; regions: cn-bj2, hk",
        "  plain: static; project: the key's default; regions: hk",
    ]


@pytest.mark.e2e
def test_a_hanging_default_project_resolution_does_not_hold_the_listings(served, tmp_path):
    """An account without project_id is listed (as project="default") while GetProjectList
    hangs, instead of failing every scrape until the call times out."""
    served.add_fault(Fault(delay=30), action="GetProjectList")
    cfg = config_for(served.url, [account()], ucloud={"timeout_seconds": 30, "retries": 0})
    with runtime_on(tmp_path, cfg) as (runtime, _):
        started = time.monotonic()
        answer = call(App(runtime), headers={"X-Prometheus-Scrape-Timeout-Seconds": "8"})
        took = time.monotonic() - started
    assert answer.status == 200 and took < 6
    assert up_targets(answer.samples()) == {("main", "default", "cn-bj2"): 1,
                                            ("main", "default", "hk"): 1}  # fmt: skip


@pytest.mark.e2e
def test_uhub_max_images_bounds_the_account_not_each_of_its_projects(tmp_path):
    """``uhub.max_images`` is per account and refresh: projects must not multiply it."""
    main = Account(KEY, SECRET, {"org-a"}, {"hk": []}, default_project="org-a",
                   repos=[Repo("ra", T0, T0, images=GeneratedImages(30, T0, T0))])  # fmt: skip
    main.extra_projects = [
        ProjectData(
            "org-b",
            regions={"hk": []},
            repos=[Repo("rb", T0, T0, images=GeneratedImages(30, T0, T0))],
        ),
    ]
    with Simulator(Fleet([main])) as sim:
        cfg = config_for(sim.url, [account(project_id="auto", regions=["hk"], uhub=True)],
                         uhub={"max_images": 40, "tag_counts": "off"})  # fmt: skip
        with runtime_on(tmp_path, cfg) as (runtime, _):
            app = App(runtime)
            deadline = time.monotonic() + 15
            while (
                len({dict(k)["project"] for n, k in call(app).samples() if n == "ucloud_uhub_up"})
                < 2
            ):
                assert time.monotonic() < deadline, "UHub was not refreshed"
                time.sleep(0.1)
            m = call(app).samples()
    held = [dict(k)["project"] for n, k in m if n == "ucloud_uhub_image_pulls_total"]
    assert len(held) == 40  # was 60: 30 in each project, under a cap of 40 each
    assert held.count("org-a") == 30 and held.count("org-b") == 10  # projects in order
    truncated = "ucloud_uhub_truncated_refreshes_total"
    assert value(m, truncated, account="main", project="org-b", reason="too_many_images") == 1
