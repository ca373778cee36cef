"""UHub end to end: the real exporter process against the simulator's UHub over loopback."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from exporter.simulator import (
    GOLDEN_PRIVATE_KEY,
    GOLDEN_PROJECT,
    GOLDEN_PUBLIC_KEY,
    Fault,
    Image,
    Quirks,
    Repo,
    Simulator,
    fleet_from_dict,
)
from exporter.simulator import golden_fleet as make_golden_fleet
from tests.support.process import proc_stats
from tests.support.procs import config_for, golden_account, samples, scrape_until, value

pytestmark = pytest.mark.e2e  # every test here starts a process

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
        action: value(m, "ucloud_image_bucket_account_api_requests_total", **a, action=action)
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
    errors = "ucloud_image_bucket_account_api_errors_total"
    assert value(m, errors, **a, action="GetRepo", reason="retcode_171") == 1
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
    assert value(m, "ucloud_uhub_paging_inconsistencies_total", **a, kind="total_ahead") == 1
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


HUGE = 100_000  # UHub images the simulator serves: five times the default uhub.max_images
CAP = 20_000


def test_a_registry_beyond_the_cap_is_bounded_and_scrapes_answer_in_time(start_exporter):
    """8 repositories of 12,500 generated images beside 150 buckets in 3 regions.

    The full-size run (600,000 images) is ``python -m loadtest --runs uhub``.
    """
    fleet = fleet_from_dict(
        {
            "accounts": [
                {
                    "public_key": GOLDEN_PUBLIC_KEY,
                    "private_key": GOLDEN_PRIVATE_KEY,
                    "projects": [GOLDEN_PROJECT],
                    "regions": {r: {"synthetic": 50} for r in REGIONS},
                    "repos": [{"name": f"repo-{k}", "images": HUGE // 8} for k in range(8)],
                }
            ]
        }
    )
    with Simulator(fleet) as sim:
        account = golden_account(uhub=True)
        section = {"tag_counts": "top", "refresh_seconds": 3600}
        config = config_for(sim.url, [account], uhub=section, ucloud={"page_size": 1000})
        exp = start_exporter(config)
        deadline = time.monotonic() + 60
        while "ucloud_uhub_up{" not in exp.get().text and time.monotonic() < deadline:
            time.sleep(0.5)
        started = time.monotonic()
        response = exp.get(headers={"X-Prometheus-Scrape-Timeout-Seconds": "10"})
        seconds = time.monotonic() - started
        rss_mib = proc_stats(exp.pid).rss_kib / 1024
        pages = sim.request_count(action="GetRepoImage")
    assert response.status_code == 200 and seconds < 10, seconds
    lines = response.text.splitlines()
    uhub = [line for line in lines if line.startswith("ucloud_uhub_")]
    m = samples("\n".join(line for line in lines if not line.startswith("ucloud_uhub_image_")))
    a = {"account": "golden"}
    for region in REGIONS:
        assert value(m, "ucloud_image_bucket_up", **a, region=region) == 1
    assert sum(name == "ucloud_image_bucket_images" for name, _ in m) == 150
    pulls = [line for line in uhub if line.startswith("ucloud_uhub_image_pulls_total{")]
    assert len(pulls) == CAP and len(uhub) <= 3 * CAP + 30
    assert value(m, "ucloud_uhub_up", **a) == 1
    reason = {**a, "reason": "too_many_images"}
    assert value(m, "ucloud_uhub_truncated_refreshes_total", **reason) == 1
    kept = {line.split('repo="')[1].split('"')[0] for line in pulls}
    assert kept == {"repo-0", "repo-1"}  # the first repositories by name, 12,500 + 7,500
    assert value(m, "ucloud_uhub_repo_images", **a, repo="repo-1") == HUGE // 8
    assert value(m, "ucloud_uhub_repo_images", **a, repo="repo-2") is None
    assert pages == 13 + 8  # the pages of the cap, none of repos 2-7
    assert rss_mib < 400, rss_mib
    assert exp.logs().count("UHub registry too large") == 1
