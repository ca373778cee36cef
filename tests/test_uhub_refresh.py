"""UHub configuration, the background refresh's state, and the families a scrape shows."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from dataclasses import replace
from urllib.parse import parse_qsl

import httpx
import pytest
import yaml

from exporter import config, metrics
from exporter.collector import counter_families, uhub_families, uhub_series
from exporter.config import ConfigError, UHubSettings
from exporter.sources.uhub import UHubBook, UHubState
from exporter.stats import Stats
from exporter.ucloud import Image, Registry, Repo, UCloudClient
from tests.support.inprocess import configured_projects
from tests.support.procs import run_cli

ACCOUNT = {"name": "a", "public_key": "p", "private_key": "s", "regions": ["cn-bj2"]}


def parse(section: object = None, **account: object) -> config.Config:
    data: dict[str, object] = {"accounts": [{**ACCOUNT, **account}]}
    if section is not None:
        data["uhub"] = section
    return config.parse(data, source="c.yaml", env={})


def problems(section: object = None, **account: object) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse(section, **account)
    return info.value.problems


def test_defaults_and_the_unquoted_yaml_off():
    cfg = parse()
    assert cfg.uhub == UHubSettings() and not cfg.accounts[0].uhub
    assert (cfg.uhub.refresh_seconds, cfg.uhub.max_data_age_seconds) == (300, 900)
    assert (cfg.uhub.tag_counts, cfg.uhub.tag_counts_top) == ("top", 50)
    assert cfg.uhub.repo_types == ("private", "public")
    assert cfg.uhub.max_images == 20_000
    assert parse({"max_images": 5}).uhub.max_images == 5
    loaded = yaml.safe_load("uhub: {tag_counts: off, refresh_seconds: 60}")["uhub"]
    assert loaded["tag_counts"] is False  # what YAML makes of it
    cfg = parse(loaded, uhub=True)
    assert cfg.uhub.tag_counts == "off" and cfg.accounts[0].uhub
    assert cfg.uhub.max_data_age_seconds == 180  # three refreshes unless set


@pytest.mark.parametrize(
    ("section", "account", "expected"),
    [
        ({"tag_counts": "some"}, {}, "c.yaml: uhub.tag_counts: must be one of off, top, all"),
        ({"tag_counts_top": 0}, {}, "c.yaml: uhub.tag_counts_top: must be an integer between 1"),
        ({"refresh_seconds": 1}, {}, "c.yaml: uhub.refresh_seconds: must be a number between 10"),
        (
            {"refresh_seconds": 600, "max_data_age_seconds": 300},
            {},
            "c.yaml: uhub.max_data_age_seconds: must be at least refresh_seconds (600)",
        ),
        ({"repo_types": ["mine"]}, {}, "c.yaml: uhub.repo_types: must be a non-empty list"),
        ({"repo_types": []}, {}, "c.yaml: uhub.repo_types: must be a non-empty list"),
        ({"refresh": 5}, {}, "c.yaml: uhub.refresh: unknown key"),
        ({"max_images": 0}, {}, "c.yaml: uhub.max_images: must be an integer between 1 and"),
        ({"max_images": 2.5}, {}, "c.yaml: uhub.max_images: must be an integer between 1 and"),
        ({"max_images": "all"}, {}, "c.yaml: uhub.max_images: must be an integer between 1"),
        (None, {"uhub": "yes"}, "c.yaml: accounts[0].uhub: must be true or false"),
    ],
)
def test_each_problem_names_its_key(section, account, expected):
    found = problems(section, **account)
    assert len(found) == 1 and found[0].startswith(expected), found


def registry(*images: Image, repos: int = 1) -> Registry:
    return Registry(
        repos=tuple(Repo(f"r{i}", i == 0, None, 2) for i in range(repos)),
        images=images,
        invalid={},
        inconsistencies=frozenset(),
        requests=3,
    )


def samples(states: list[UHubState]) -> dict[tuple[str, tuple[str, ...]], float]:
    return {
        (s.name, tuple(s.labels.values())): s.value
        for family in uhub_families(states)
        for s in family.samples
    }


def test_families_of_a_registry_and_of_a_failure():
    reg = registry(Image("r0", "web", 12, 1_700_000_000, 790), Image("r0", "db", None, None))
    ok = UHubState("a", "p", up=True, duration=1.5, last_success=1_800_000_000.0, data=reg)
    failed = UHubState("b", "q", up=False, reason="retcode_171", duration=0.2)
    got = samples([ok, failed, UHubState("c", "p")])  # c: no refresh ended yet
    assert got == {
        ("ucloud_uhub_up", ("a", "p")): 1,
        ("ucloud_uhub_refresh_duration_seconds", ("a", "p")): 1.5,
        ("ucloud_uhub_last_success_timestamp_seconds", ("a", "p")): 1_800_000_000.0,
        ("ucloud_uhub_repos", ("a", "p")): 1,
        ("ucloud_uhub_repo_info", ("a", "p", "r0", "true", "unknown")): 1,
        ("ucloud_uhub_repo_images", ("a", "p", "r0")): 2,
        ("ucloud_uhub_image_pulls_total", ("a", "p", "r0", "web")): 12,
        ("ucloud_uhub_image_updated_timestamp_seconds", ("a", "p", "r0", "web")): 1_700_000_000,
        ("ucloud_uhub_image_tags", ("a", "p", "r0", "web")): 790,
        ("ucloud_uhub_up", ("b", "q")): 0,
        ("ucloud_uhub_refresh_duration_seconds", ("b", "q")): 0.2,
        ("ucloud_uhub_error_info", ("b", "q", "retcode_171")): 1,
    }
    assert {f.name for f in uhub_families([])} == {
        f.base for f in metrics.UHUB_FAMILIES
    }  # every family, even empty


class Gateway:
    """One repo with one image; fails with RetCode 171 while ``failing``."""

    def __init__(self) -> None:
        self.failing = False
        self.calls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        form = dict(parse_qsl(request.content.decode()))
        if self.failing:
            body: dict[str, object] = {"RetCode": 171, "Message": "Signature VerifyAC Error"}
        elif form["Action"] == "GetRepo":
            repos = [{"RepoName": "r", "IsShared": "false", "IsOutSide": "true"}]
            body = {"RetCode": 0, "TotalCount": 1, "RepoSet": repos}
            body["RepoSet"] = repos if form["Type"] == "private" else []
        elif form["Action"] == "GetRepoImage":
            image = {"ImageName": "i", "PullCount": 7, "UpdateTime": "1700000000"}
            body = {"RetCode": 0, "TotalCount": 1, "ImageSet": [image]}
        else:
            body = {"RetCode": 0, "TotalCount": 4, "TagSet": [{"TagName": "v1"}]}
        return httpx.Response(200, content=json.dumps(body).encode())


def test_a_failed_refresh_keeps_the_last_registry_until_it_is_too_old():
    cfg = parse({"refresh_seconds": 10, "max_data_age_seconds": 30}, uhub=True)
    gateway, stats = Gateway(), Stats()

    async def go() -> list[UHubState]:
        settings = config.UCloudSettings(base_url="https://api.example/", retries=0)
        client = UCloudClient(settings, transport=httpx.MockTransport(gateway))
        book = UHubBook(client, cfg, stats, configured_projects)
        seen = [UHubState("a", "default"), await book.refresh(cfg.accounts[0], "default")]
        gateway.failing = True
        seen.append(await book.refresh(cfg.accounts[0], "default"))
        seen.append(book.states()[0])
        first = seen[1].last_success or 0.0
        book._states["a", "default", ""] = replace(
            seen[2], last_success=first - 31, fetched=first - 31
        )  # 31 s later
        seen.append(book.states()[0])
        await client.aclose()
        return seen

    before, ok, failed, served, too_old = asyncio.run(go())
    assert before.up is None and before.data is None
    assert ok.up and ok.data is not None and ok.data.images[0].tags == 4
    assert ok.last_success is not None and abs(ok.last_success - time.time()) < 60
    assert not failed.up and failed.reason == "retcode_171"
    assert failed.last_success == ok.last_success and failed.data == ok.data
    assert served.data == ok.data
    assert too_old.data is None and not too_old.up
    requests = stats.snapshot().account_requests
    assert requests[("a", "GetRepo")] == 3 and requests[("a", "GetImageTag")] == 1
    assert stats.snapshot().account_errors[("a", "GetRepo", "retcode_171")] == 1
    assert stats.snapshot().last_success == {} == stats.snapshot().requests  # UHub: its own


def test_uhub_counters_survive_a_reload_only_while_the_account_keeps_uhub():
    stats = Stats()
    stats.record_truncation("a", "default", "too_many_images")
    stats.forget_unless(parse(uhub=True))
    assert stats.snapshot().uhub_truncated == {("a", "default", "too_many_images"): 1}
    stats.forget_unless(parse(uhub=False))
    assert stats.snapshot().uhub_truncated == {}


def test_a_reload_keeps_the_registries_of_accounts_still_listed():
    cfg = parse(uhub=True)
    kept = UHubState("a", "p", up=True, last_success=time.time(), data=registry())
    client = UCloudClient(config.UCloudSettings())
    gone = UHubState("gone", "p")
    book = UHubBook(client, cfg, Stats(), configured_projects, previous=[kept, gone])
    assert book.states() == [kept]
    assert UHubBook(client, parse(), Stats(), configured_projects, previous=[kept]).states() == []


@pytest.mark.e2e
def test_config_check_says_which_accounts_list_uhub(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "uhub": {"tag_counts": False},
                "accounts": [{**ACCOUNT, "uhub": True}, {**ACCOUNT, "name": "b"}],
            }
        )
    )
    done = run_cli("--config.file", str(path), "--config.check")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == (
        f"{path}: OK (2 accounts, 2 targets, 1 with UHub (tag_counts off))"
    )


class Growing:
    """Repositories ``r0``... of ``images`` images each; GetImageTag calls are recorded."""

    def __init__(self, repos: int, images: int) -> None:
        self.repos, self.images = repos, images
        self.tagged: list[tuple[str, str]] = []
        self.failing = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        form = dict(parse_qsl(request.content.decode()))
        offset, limit = int(form["Offset"]), int(form["Limit"])
        if self.failing:
            body: dict[str, object] = {"RetCode": 171, "Message": "Signature VerifyAC Error"}
        elif form["Action"] == "GetRepo":
            names = [f"r{n}" for n in range(self.repos)] if form["Type"] == "private" else []
            items: list[dict[str, object]] = [{"RepoName": n} for n in names]
            body = {"RetCode": 0, "TotalCount": len(items), "RepoSet": items}
        elif form["Action"] == "GetRepoImage":
            items = [
                {"ImageName": f"i{n:05d}", "PullCount": n, "UpdateTime": 1_700_000_000}
                for n in range(offset, min(offset + limit, self.images))
            ]
            body = {"RetCode": 0, "TotalCount": self.images, "ImageSet": items}
        else:
            self.tagged.append((form["RepoName"], form["ImageName"]))
            body = {"RetCode": 0, "TotalCount": 2, "TagSet": [{"TagName": "v1"}]}
        return httpx.Response(200, content=json.dumps(body).encode())


def test_a_registry_over_the_cap_is_kept_in_part_counted_and_logged_once(caplog):
    """8 repositories of 50 images against a cap of 200 per account and refresh."""
    cfg = parse({"tag_counts": "all", "max_images": 200}, uhub=True)
    gateway, stats = Growing(repos=8, images=50), Stats()
    key = ("a", "default", "too_many_images")

    async def go() -> list[UHubState]:
        settings = config.UCloudSettings(base_url="https://api.example/", page_size=20)
        client = UCloudClient(settings, transport=httpx.MockTransport(gateway))
        book = UHubBook(client, cfg, stats, configured_projects)
        seen = [await book.refresh(cfg.accounts[0], "default") for _ in range(3)]
        gateway.failing = True  # a failed refresh keeps the cut registry: no new warning
        failed = await book.refresh(cfg.accounts[0], "default")
        gateway.failing = False
        seen.append(await book.refresh(cfg.accounts[0], "default"))
        assert not failed.up and failed.data == seen[0].data
        gateway.repos = 2  # fits: 100 images
        seen.append(await book.refresh(cfg.accounts[0], "default"))
        gateway.repos = 8
        seen.append(await book.refresh(cfg.accounts[0], "default"))
        await client.aclose()
        return seen

    with caplog.at_level(logging.INFO, logger="exporter.sources.uhub"):
        states = asyncio.run(go())
    first = states[0]
    assert first.up and first.data is not None and first.reason is None
    assert len(first.data.images) == 200
    assert {i.repo for i in first.data.images} == {"r0", "r1", "r2", "r3"}
    assert all(s.data == first.data for s in (states[1], states[2], states[3], states[5]))
    assert states[4].data is not None and not states[4].data.truncated
    # Tag calls only for the kept images: 200 per truncated refresh, 100 for the other.
    assert len(gateway.tagged) == 5 * 200 + 100
    assert set(gateway.tagged) == {(i.repo, i.name) for i in first.data.images} | {
        (i.repo, i.name) for i in states[4].data.images
    }
    assert stats.snapshot().uhub_truncated == {key: 5}
    counted = [
        (s.labels["account"], s.labels["project"], s.labels["reason"], s.value)
        for family in counter_families(stats.snapshot())
        for s in family.samples
        if s.name == "ucloud_uhub_truncated_refreshes_total"
    ]
    assert counted == [(*key, 5.0)]
    warned = [r for r in caplog.records if "too large" in r.getMessage()]
    assert len(warned) == 2  # when it started being cut, and again after it had fit
    assert all(r.levelno == logging.WARNING and r.reason == "too_many_images" for r in warned)
    assert sum("fits again" in r.getMessage() for r in caplog.records) == 1
    assert uhub_series(states[:1]) == sum(len(f.samples) for f in uhub_families(states[:1]))


def test_the_truncation_counter_is_dropped_with_the_account_s_uhub():
    stats = Stats()
    stats.record_truncation("a", "default", "too_many_images")
    stats.forget_unless(parse(uhub=True))
    assert stats.snapshot().uhub_truncated == {("a", "default", "too_many_images"): 1}
    assert stats.snapshot({("a", "default", "cn-bj2")}).uhub_truncated == {}  # never on a probe
    stats.forget_unless(parse(uhub=False))
    assert stats.snapshot().uhub_truncated == {}


@pytest.mark.parametrize("seed", range(5))
def test_uhub_series_is_the_number_of_samples_the_families_yield(seed):
    rng = random.Random(seed)

    def maybe(value: int) -> int | None:
        return None if rng.random() < 0.3 else value

    def state(n: int) -> UHubState:
        repos = [f"r{k}" for k in range(rng.randrange(0, 5))]
        images = tuple(
            Image(rng.choice(repos), f"i{k}", maybe(k), maybe(1_700_000_000), maybe(3))
            for k in range(rng.randrange(0, 200) if repos else 0)
        )
        reg = Registry(
            repos=tuple(Repo(r, None, True, maybe(len(images))) for r in repos),
            images=images,
            invalid={},
            inconsistencies=frozenset(),
            requests=1,
        )
        up = rng.choice([None, True, False])
        return UHubState(
            f"acct{n}",
            "p",
            up=up,
            reason=None if up else "retcode_171",
            duration=0.5,
            last_success=None if rng.random() < 0.3 else 1_800_000_000.0,
            data=None if rng.random() < 0.2 else reg,
        )

    states = [state(n) for n in range(rng.randrange(1, 6))]
    expected = sum(len(family.samples) for family in uhub_families(states))
    assert uhub_series(states) == expected
    assert uhub_series([]) == 0
