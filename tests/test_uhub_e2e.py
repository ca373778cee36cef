"""UHub end to end: the real exporter process against the simulator's UHub over loopback."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from exporter.simulator import GOLDEN_PUBLIC_KEY, Fault, Image, Quirks, Repo, Simulator
from exporter.simulator import golden_fleet as make_golden_fleet
from tests.support.procs import config_for, golden_account, samples, scrape_until, value

T0 = 1_700_000_000
ACTIONS = ("GetRepo", "GetRepoImage", "GetImageTag")
REGIONS = ("cn-bj2", "cn-sh2", "hk")


@pytest.fixture
def hub() -> Iterator[Simulator]:
    """The golden fleet, its account also holding two UHub repositories."""
    fleet = make_golden_fleet()
    account = fleet.account(GOLDEN_PUBLIC_KEY)
    assert account is not None
    account.repos = [
        Repo("team", T0, T0 + 100, images=[
            Image("web", 1200, T0, T0 + 50, tags=790),
            Image("db", 0, T0, T0 + 60, tags=2),
        ]),
        Repo("open", T0, T0, shared=True, outside=False, images=[Image("base", 5, T0, T0)]),
    ]  # fmt: skip
    with Simulator(fleet) as sim:
        yield sim


def uhub_config(url: str, **uhub: object) -> dict[str, object]:
    section = {"refresh_seconds": 3600, "tag_counts": "all", **uhub}
    return config_for(url, [golden_account(uhub=True)], uhub=section)


def test_the_registry_is_exported_and_scrapes_make_no_uhub_call(hub, start_exporter):
    exp = start_exporter(uhub_config(hub.url))
    m = scrape_until(exp, "ucloud_uhub_up")
    a = {"account": "golden"}
    assert value(m, "ucloud_uhub_up", **a) == 1
    assert value(m, "ucloud_uhub_repos", **a) == 2
    assert value(m, "ucloud_uhub_repo_info", **a, repo="open", shared="true",
                 internet_access="false") == 1  # fmt: skip
    assert value(m, "ucloud_uhub_repo_images", **a, repo="team") == 2
    web = {**a, "repo": "team", "image": "web"}
    assert value(m, "ucloud_uhub_image_pulls_total", **web) == 1200
    assert value(m, "ucloud_uhub_image_updated_timestamp_seconds", **web) == T0 + 50
    assert value(m, "ucloud_uhub_image_tags", **web) == 790
    assert value(m, "ucloud_uhub_image_pulls_total", **a, repo="team", image="db") == 0
    last = value(m, "ucloud_uhub_last_success_timestamp_seconds", **a)
    assert abs(last - time.time()) < 60
    # GetRepo: private and public, one page each; GetRepoImage: one page per repo (page 2).
    requests = {
        action: value(m, "ucloud_image_bucket_api_requests_total", **a, region="", action=action)
        for action in ACTIONS
    }
    assert requests == {"GetRepo": 2, "GetRepoImage": 2, "GetImageTag": 3}
    calls = {action: hub.request_count(action=action) for action in ACTIONS}
    assert calls == requests
    for _ in range(3):
        assert exp.get().status_code == 200
    assert {action: hub.request_count(action=action) for action in ACTIONS} == calls
    for region in REGIONS:  # the buckets are there as ever
        assert value(m, "ucloud_image_bucket_up", **a, region=region) == 1


def test_a_failing_uhub_costs_no_bucket_and_keeps_its_reason(hub, start_exporter):
    hub.add_fault(Fault(retcode=171, message="Signature VerifyAC Error"), action="GetRepo")
    exp = start_exporter(uhub_config(hub.url))
    m = scrape_until(exp, "ucloud_uhub_up")
    a = {"account": "golden"}
    assert value(m, "ucloud_uhub_up", **a) == 0
    assert value(m, "ucloud_uhub_error_info", **a, reason="retcode_171") == 1
    assert not any(name == "ucloud_uhub_repos" for name, _ in m)
    assert not any(name == "ucloud_uhub_last_success_timestamp_seconds" for name, _ in m)
    for region in REGIONS:
        assert value(m, "ucloud_image_bucket_up", **a, region=region) == 1
    errors = "ucloud_image_bucket_api_errors_total"
    assert value(m, errors, **a, region="", action="GetRepo", reason="retcode_171") == 1
    assert "Signature VerifyAC Error" in exp.logs() and "GetRepo" in exp.logs()


def test_failing_buckets_cost_no_uhub(hub, start_exporter):
    hub.add_fault(Fault(retcode=171), action="GetImageBucketList")
    exp = start_exporter(uhub_config(hub.url))
    m = scrape_until(exp, "ucloud_uhub_up")
    a = {"account": "golden"}
    assert value(m, "ucloud_uhub_up", **a) == 1 and value(m, "ucloud_uhub_repos", **a) == 2
    for region in REGIONS:
        assert value(m, "ucloud_image_bucket_up", **a, region=region) == 0


def test_a_lying_total_count_is_reported_not_failed(hub, start_exporter):
    hub.add_fault(Fault(quirks=Quirks(total_count=100_000)), action="GetRepoImage")
    exp = start_exporter(uhub_config(hub.url, tag_counts="off"))
    m = scrape_until(exp, "ucloud_uhub_up")
    a = {"account": "golden"}
    assert value(m, "ucloud_uhub_up", **a) == 1
    assert value(m, "ucloud_uhub_repo_images", **a, repo="team") == 2
    kind = {"region": "", "kind": "total_ahead"}
    assert value(m, "ucloud_image_bucket_paging_inconsistencies_total", **a, **kind) == 1
    assert hub.request_count(action="GetRepoImage") <= 4  # one extra (empty) page per repo
    assert not any(name == "ucloud_uhub_image_tags" for name, _ in m)


def test_probes_never_repeat_the_registry(hub, start_exporter):
    """UHub is per account, on /metrics only: probes of each account and region never hold it."""
    exp = start_exporter(uhub_config(hub.url))
    scrape_until(exp, "ucloud_uhub_up")
    for page in ("/probe?account=golden", "/probe?account=golden&region=hk"):
        m = samples(exp.get(page).text)
        assert value(m, "ucloud_image_buckets", account="golden", region="hk", type="public") == 0
        assert not any(name.startswith("ucloud_uhub_") for name, _ in m), page
        assert all(dict(labels).get("region") != "" for _, labels in m), page
