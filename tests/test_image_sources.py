"""Images inside buckets and custom host images as background sources, against the simulator.

Rotation (every bucket reached, at most ``max_buckets_per_refresh`` calls a round), the cursor
surviving an unchanged reload that costs no call, a bucket deleted mid-refresh (43023), one
failing bucket costing no other, filters, per-region isolation of host images, quotas, and
one source's failure leaving the other sources' series alone.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import pytest
from prometheus_client.metrics_core import Metric

from exporter import config as config_module
from exporter.collector import docker_families, host_families
from exporter.config import Config
from exporter.engine import Engine
from exporter.simulator import (
    BENCH_PROJECT,
    Fault,
    Simulator,
    docker_image_fleet,
    fleet_from_dict,
)
from exporter.simulator.fleet import region_id
from exporter.stats import Stats

REGION = region_id(0)
KEY = "bench-public-key"


def raw_config(url: str, **account: Any) -> dict[str, Any]:
    return {
        "ucloud": {"base_url": url, "retries": 0, "timeout_seconds": 5},
        "docker_images": {"refresh_seconds": 3600, "max_buckets_per_refresh": 10},
        "host_images": {"refresh_seconds": 3600},
        "accounts": [
            {
                "name": "a",
                "public_key": KEY,
                "private_key": "bench-private-key",
                "project_id": BENCH_PROJECT,
                "regions": [REGION],
                **account,
            }
        ],
    }


def parse(raw: dict[str, Any]) -> Config:
    return config_module.parse(raw, env={})


@contextmanager
def running(sim: Simulator, raw: dict[str, Any]) -> Iterator[Engine]:
    engine = Engine(parse(raw), stats=Stats())
    try:
        yield engine
    finally:
        engine.close()


def on_loop(engine: Engine, job: Any, timeout: float = 30.0) -> Any:
    return asyncio.run_coroutine_threadsafe(job, engine._loop).result(timeout)


def settled(states: Callable[[], list[Any]], timeout: float = 20.0) -> list[Any]:
    """Wait until every state's first refresh ended (and there is one at least)."""
    end = time.monotonic() + timeout
    while True:
        got = states()
        if got and all(s.up is not None for s in got):
            return got
        assert time.monotonic() < end, f"no refresh ended: {got}"
        time.sleep(0.05)


def samples(families: Iterator[Metric]) -> dict[str, list[tuple[dict[str, str], float]]]:
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in families:
        for s in family.samples:
            out.setdefault(s.name, []).append((s.labels, s.value))
    return out


@contextmanager
def simulator(**fleet: Any) -> Iterator[Simulator]:
    sim = Simulator(docker_image_fleet(**fleet)).start()
    try:
        yield sim
    finally:
        sim.stop()


@pytest.mark.e2e
def test_rotation_reaches_every_bucket_within_the_per_refresh_cap():
    with (
        simulator(buckets=25, images=3, tags=2) as sim,
        running(sim, raw_config(sim.url, docker_images=True)) as engine,
    ):
        book = engine.docker_images
        (first,) = settled(book.states)
        assert first.up and len(first.data.buckets) == 10
        account = engine.config.accounts[0]
        held = [len(first.data.buckets)]
        for _ in range(2):
            sim.reset_counts()
            (state,) = on_loop(engine, book.refresh_all(account))
            # one page per bucket (3 images): never more calls than the cap
            assert sim.request_count(action="GetDockerImageList") == 10
            held.append(len(state.data.buckets))
        assert held == [10, 20, 25]  # the third round wrapped around: every bucket reached
        images = samples(docker_families(book.states(), engine.stats))
        assert len(images["ucloud_image_bucket_image_tags"]) == 25 * 3
        assert {v for _, v in images["ucloud_image_bucket_image_tags"]} == {2}
        assert images["ucloud_image_bucket_docker_images_listed_buckets"][0][1] == 25


@pytest.mark.e2e
def test_an_unchanged_reload_costs_no_call_and_keeps_the_cursor():
    with simulator(buckets=25, images=1, tags=1) as sim:
        raw = raw_config(sim.url, docker_images=True)
        with running(sim, raw) as engine:
            book = engine.docker_images
            settled(book.states)
            account = engine.config.accounts[0]
            sim.reset_counts()
            for n in range(20):  # a reload storm: equal configs, then only a new interval
                raw["docker_images"]["refresh_seconds"] = 3600 + (n % 2)
                engine.reconfigure(parse(raw))
            time.sleep(0.3)
            assert sim.request_count() == 0
            (state,) = on_loop(engine, book.refresh_all(account))
            assert len(state.data.buckets) == 20  # the second share, not the first again


@pytest.mark.e2e
def test_a_bucket_deleted_mid_refresh_is_forgotten_and_counted_not_failed():
    with (
        simulator(buckets=5, images=2, tags=1) as sim,
        running(sim, raw_config(sim.url, docker_images=True)) as engine,
    ):
        book = engine.docker_images
        (state,) = settled(book.states)
        assert len(state.data.buckets) == 5
        account = engine.config.accounts[0]
        with sim.fleet.locked(KEY) as held:  # still listed; GetDockerImageList answers 43023
            bucket = held.regions[REGION][0]
            bucket.vanished = True
        (state,) = on_loop(engine, book.refresh_all(account))
        assert state.up and state.reason is None
        assert (REGION, bucket.name) not in state.data.buckets
        assert len(state.data.buckets) == 4
        got = samples(docker_families(book.states(), engine.stats))
        assert got["ucloud_image_bucket_docker_images_vanished_buckets_total"] == [
            ({"account": "a", "project": BENCH_PROJECT}, 1.0)
        ]


@pytest.mark.e2e
def test_one_failing_bucket_costs_no_other_bucket():
    with (
        simulator(buckets=4, images=2, tags=1) as sim,
        running(sim, raw_config(sim.url, docker_images=True)) as engine,
    ):
        book = engine.docker_images
        (before,) = settled(book.states)
        account = engine.config.accounts[0]
        sim.add_fault(Fault(retcode=43000, message="InternalError", times=1),
                   action="GetDockerImageList")  # fmt: skip
        (state,) = on_loop(engine, book.refresh_all(account))
        assert not state.up and state.reason == "retcode_43000"
        assert state.data.failed == 1 and state.data.listed == 3
        assert state.data.buckets.keys() == before.data.buckets.keys()  # the failed one kept
        got = samples(docker_families(book.states(), engine.stats))
        assert len(got["ucloud_image_bucket_image_tags"]) == 4 * 2
        assert got["ucloud_image_bucket_docker_images_error_info"][0][0]["reason"] == (
            "retcode_43000"
        )


@pytest.mark.e2e
def test_filters_decide_which_buckets_are_listed_and_which_images_kept():
    with simulator(buckets=6, images=3, tags=1) as sim:
        names = sorted(b.name for b in sim.fleet.buckets(KEY, REGION))
        keep = names[:2]
        raw = raw_config(
            sim.url,
            docker_images=True,
            buckets={"include": "|".join(keep)},
            images={"exclude": "image-0000[12]"},
        )
        with running(sim, raw) as engine:
            (state,) = settled(engine.docker_images.states)
            assert sim.request_count(action="GetDockerImageList") == 2
            assert sorted(b for _, b in state.data.buckets) == keep
            kept = {i.name for images in state.data.buckets.values() for i in images}
            assert kept == {"image-00003"}  # of image-00001..3: anchored, so not image-000010


@pytest.mark.e2e
def test_host_images_fail_per_region_and_leave_buckets_alone():
    with simulator(buckets=3, images=1, tags=1, host_images=4) as sim:
        raw = raw_config(sim.url, docker_images=True, host_images=True)
        raw["accounts"][0]["regions"] = [REGION, "cn-sh2"]
        sim.add_fault(
            Fault(retcode=8000, message="denied"), action="DescribeImage", region="cn-sh2"
        )
        with running(sim, raw) as engine:
            hosts = {s.region: s for s in settled(engine.host_images.states)}
            (docker,) = settled(engine.docker_images.states)
            assert hosts[REGION].up and len(hosts[REGION].data.images) == 4
            assert not hosts["cn-sh2"].up and hosts["cn-sh2"].reason == "retcode_8000"
            assert docker.up and len(docker.data.buckets) == 3
            got = samples(host_families(engine.host_images.states(), engine.config, engine.stats))
            ups = {labels["region"]: v for labels, v in got["ucloud_uhost_images_up"]}
            assert ups == {REGION: 1.0, "cn-sh2": 0.0}
            # cn-bj1 is 华北一 in UCloud's quota table (30); cn-sh2 too, though it failed
            quota = {labels["region"]: v for labels, v in got["ucloud_uhost_custom_image_quota"]}
            assert quota == {REGION: 30.0, "cn-sh2": 30.0}
            states = {labels["state"] for labels, _ in got["ucloud_uhost_custom_images"]}
            assert {"Available", "Making", "Unavailable", "Copying"} <= states


@pytest.mark.e2e
def test_a_failing_bucket_source_leaves_host_images_alone():
    with simulator(buckets=3, images=1, tags=1, host_images=2) as sim:
        sim.add_fault(Fault(retcode=43000, message="InternalError"), action="GetDockerImageList")
        raw = raw_config(sim.url, docker_images=True, host_images=True)
        with running(sim, raw) as engine:
            (host,) = settled(engine.host_images.states)
            (docker,) = settled(engine.docker_images.states)
            assert host.up and len(host.data.images) == 2
            assert not docker.up


def test_quotas_follow_the_section_then_the_account_and_unknown_regions_have_none():
    raw = raw_config("http://127.0.0.1:9/", host_images=True, host_image_quotas={"cn-bj2": 5})
    raw["host_images"]["quotas"] = {"cn-gd": 12, "sg": 3}
    cfg = parse(raw)
    account = cfg.accounts[0]
    assert cfg.host_images.quota(account, "cn-bj2") == 5  # the account's own
    assert cfg.host_images.quota(account, "cn-gd") == 12  # the section's, over UCloud's 10
    assert cfg.host_images.quota(account, "hk") == 10  # UCloud's table
    assert cfg.host_images.quota(account, "th-bkk") is None
    other = replace(account, host_image_quotas=())
    assert cfg.host_images.quota(other, "cn-bj2") == 30


@pytest.mark.e2e
def test_a_stalled_image_listing_never_holds_a_scrape():
    with simulator(buckets=2, images=1, tags=1) as sim:
        sim.add_fault(Fault(delay=30.0), action="GetDockerImageList")
        raw = raw_config(sim.url, docker_images=True)
        raw["ucloud"]["timeout_seconds"] = 60
        with running(sim, raw) as engine:
            time.sleep(0.5)  # the refresh is now waiting on the stalled gateway
            started = time.monotonic()
            results = engine.collect(timeout=10)
            assert time.monotonic() - started < 5
            assert [r.ok for r in results] == [True]


@pytest.mark.e2e
def test_a_stalled_image_listing_ends_at_the_listing_timeout_keeping_its_images():
    with simulator(buckets=3, images=1, tags=1) as sim:
        raw = raw_config(sim.url, docker_images=True)
        raw["ucloud"]["timeout_seconds"] = 60
        raw["collect"] = {"listing_timeout_seconds": 2}
        with running(sim, raw) as engine:
            book = engine.docker_images
            (before,) = settled(book.states)
            sim.add_fault(Fault(delay=30.0), action="GetDockerImageList")
            started = time.monotonic()
            (state,) = on_loop(engine, book.refresh_all(engine.config.accounts[0]))
            assert time.monotonic() - started < 6
            assert not state.up and state.reason == "deadline"
            assert state.data.buckets == before.data.buckets  # every bucket kept its images


@pytest.mark.e2e
def test_the_images_held_per_account_are_capped_and_the_cut_counted_once_logged(caplog):
    with simulator(buckets=6, images=4, tags=1) as sim:
        raw = raw_config(sim.url, docker_images=True)
        raw["docker_images"]["max_images"] = 10  # room for two buckets of four images
        with running(sim, raw) as engine:
            book = engine.docker_images
            (state,) = settled(book.states)
            assert sum(len(v) for v in state.data.buckets.values()) == 8
            assert state.data.truncated == 4
            on_loop(engine, book.refresh_all(engine.config.accounts[0]))
            got = samples(docker_families(book.states(), engine.stats))
            assert got["ucloud_image_bucket_docker_images_truncated_buckets_total"] == [
                ({"account": "a", "project": BENCH_PROJECT}, 8.0)
            ]
            cut = [r for r in caplog.records if "cut short" in r.getMessage()]
            assert len(cut) == 1


ODD = {
    "accounts": [
        {
            "public_key": KEY,
            "private_key": "bench-private-key",
            "projects": [BENCH_PROJECT],
            "regions": {
                REGION: {
                    "buckets": [
                        {"name": "web", "docker_images": 250, "docker_tags": 2},
                        {"name": "gone", "vanished": True},
                    ],
                    "host_images": [
                        {"id": "uimage-a", "name": "base", "os_name": "Ubuntu 22.04",
                         "state": "Unavailable", "size": 40, "maintain_eol": "2027/04/30"},
                        {"id": "uimage-b", "state": "Available", "maintain_eol": "soon"},
                    ],
                    "action_quirks": {
                        "GetDockerImageList": {"name_key": "ImageName", "ignore_offset": True},
                        "DescribeImage": {"total_count": 7, "omit_fields": ["CreateTime"]},
                    },
                }
            },
        }
    ]
}  # fmt: skip


@pytest.mark.e2e
def test_odd_but_legal_answers_are_served_counted_and_never_fail_the_sources():
    sim = Simulator(fleet_from_dict(ODD)).start()
    try:
        raw = raw_config(sim.url, docker_images=True, host_images=True)
        with running(sim, raw) as engine:
            (docker,) = settled(engine.docker_images.states)
            (host,) = settled(engine.host_images.states)
            assert docker.up and host.up
            # Offset ignored: the first page again ends the listing, reported, not failed
            (web,) = [v for (_, b), v in docker.data.buckets.items() if b == "web"]
            assert 0 < len(web) <= 250 and all(i.name.startswith("image-") for i in web)
            assert (REGION, "gone") not in docker.data.buckets
            got = samples(docker_families(engine.docker_images.states(), engine.stats))
            kinds = {lbl["kind"] for lbl, _ in got[
                "ucloud_image_bucket_docker_images_paging_inconsistencies_total"]}  # fmt: skip
            assert kinds == {"repeated_page"}
            assert got["ucloud_image_bucket_docker_images_vanished_buckets_total"][0][1] == 1
            hosts = samples(host_families(engine.host_images.states(), engine.config, engine.stats))
            eol = hosts["ucloud_uhost_image_os_eol_timestamp_seconds"]
            # 2027/04/30 is midnight UTC+08:00; "soon" is malformed: no series, counted
            assert eol == [({"account": "a", "project": BENCH_PROJECT, "region": REGION,
                             "image_id": "uimage-a"}, 1809014400.0)]  # fmt: skip
            assert not hosts.get("ucloud_uhost_image_created_timestamp_seconds")
            fields = {lbl["field"] for lbl, _ in hosts["ucloud_uhost_images_invalid_entries_total"]}
            assert "MaintainEol" in fields
            kinds = {lbl["kind"] for lbl, _ in hosts[
                "ucloud_uhost_images_paging_inconsistencies_total"]}  # fmt: skip
            assert kinds == {"total_ahead"}
            states = {lbl["state"]: v for lbl, v in hosts["ucloud_uhost_custom_images"]}
            assert states == {"Available": 1, "Making": 0, "Unavailable": 1, "Copying": 0}
    finally:
        sim.stop()
