"""The configuration of images inside buckets, custom host images and the series budget:
defaults, every problem one line with its key path, and what --config.check says."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from exporter import config
from exporter.config import DEFAULT_HOST_IMAGE_QUOTAS, ConfigError
from tests.support.procs import run_cli


def account(**extra: Any) -> dict[str, Any]:
    return {"name": "main", "public_key": "p", "private_key": "s", "regions": ["cn-bj2"], **extra}


def test_defaults_are_off_and_unbounded_filters():
    parsed = config.parse({"accounts": [account()]}, env={})
    (a,) = parsed.accounts
    assert not a.docker_images and not a.host_images and a.host_image_quotas == ()
    assert a.buckets.everything and a.images.everything
    assert parsed.docker_images.refresh_seconds == 600
    assert parsed.docker_images.max_buckets_per_refresh == 1000
    assert parsed.host_images.refresh_seconds == 600
    assert parsed.host_images.quotas == DEFAULT_HOST_IMAGE_QUOTAS
    assert dict(DEFAULT_HOST_IMAGE_QUOTAS) == {
        "cn-bj1": 30, "cn-bj2": 30, "cn-sh2": 30, "cn-gd": 10, "hk": 10, "us-ca": 10,
    }  # fmt: skip
    assert parsed.collect.per_bucket_series and parsed.collect.max_series == 500_000


def test_filters_are_fully_anchored():
    parsed = config.parse(
        {"accounts": [account(buckets={"include": "team-.*", "exclude": "team-tmp"})]}, env={}
    )
    wants = parsed.accounts[0].buckets.wants
    assert wants("team-a") and not wants("team-tmp") and not wants("x-team-a")
    assert wants("team-tmp2")  # exclude is anchored too


A0 = "accounts[0]."
BAD = [
    ({"docker_images": "yes"}, None, A0 + "docker_images: "),
    ({"buckets": {"include": "("}}, None, A0 + "buckets.include: invalid regex"),
    ({"images": {"only": "x"}}, None, A0 + "images.only: unknown key"),
    ({"images": "x"}, None, A0 + "images: must be a mapping"),
    ({"host_image_quotas": {"cn-bj2": 0}}, None, A0 + "host_image_quotas.cn-bj2: "),
    ({"host_image_quotas": {"Bad": 3}}, None, A0 + "host_image_quotas.Bad: must be a region id"),
    ({}, {"host_images": {"quotas": [1]}}, "host_images.quotas: must be a mapping"),
    ({}, {"docker_images": {"max_buckets_per_refresh": 0}}, "docker_images.max_buckets_per_"),
    ({}, {"docker_images": {"max_images": -1}}, "docker_images.max_images: "),
    ({}, {"docker_images": {"max_data_age_seconds": 60}}, "docker_images.max_data_age_seconds: "),
    ({}, {"docker_images": {"every": 1}}, "docker_images.every: unknown key"),
    ({}, {"collect": {"max_series": 0}}, "collect.max_series: "),
    ({}, {"collect": {"per_bucket_series": "no"}}, "collect.per_bucket_series: "),
]


@pytest.mark.parametrize(("own", "top", "problem"), BAD)
def test_each_problem_is_one_line_naming_its_key_path(
    own: dict[str, Any], top: dict[str, Any] | None, problem: str
):
    with pytest.raises(ConfigError) as info:
        config.parse({"accounts": [account(**own)], **(top or {})}, source="c.yaml", env={})
    assert any(p.startswith(f"c.yaml: {problem}") for p in info.value.problems), info.value.problems


@pytest.mark.e2e
def test_config_check_says_which_sources_an_account_has(tmp_path: Path):
    path = tmp_path / "c.yaml"
    accounts = [
        account(uhub=True, docker_images=True, host_images=True),
        {**account(), "name": "plain"},
    ]
    path.write_text(yaml.safe_dump({"accounts": accounts}))
    done = run_cli("--config.file", str(path), "--config.check")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[1] == (
        "  main: static; project: the key's default; regions: cn-bj2; also UHub, images inside "
        "buckets, custom host images"
    )
    assert lines[2] == "  plain: static; project: the key's default; regions: cn-bj2"
