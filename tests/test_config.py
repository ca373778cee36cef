"""Configuration validation: every problem reported at once, with its key path."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from exporter import config
from exporter.config import ConfigError

GOOD = """
ucloud:
  base_url: http://127.0.0.1:1/
  timeout_seconds: 5
  page_size: 50
  max_concurrent_requests: 4
  retries: 1
collect:
  min_interval_seconds: 30
  include_buckets: ["team-.*"]
  exclude_buckets: ["team-old"]
accounts:
  - name: main
    public_key: pub
    private_key: TOPSECRET-PRIVATE
    project_id: org-1
    regions: [cn-bj2, cn-sh2]
    bucket_type: User
    bucket_name: ""
"""


def problems(data, env=None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        config.parse(data, source="c.yaml", env=env or {})
    return info.value.problems


def test_good_config_and_defaults():
    cfg = config.parse(yaml.safe_load(GOOD), env={})
    assert cfg.ucloud.page_size == 50 and cfg.ucloud.retries == 1
    assert cfg.collect.min_interval_seconds == 30
    (acc,) = cfg.accounts
    assert acc.regions == ("cn-bj2", "cn-sh2") and acc.bucket_type == "User"
    assert cfg.collect.wants("team-a") and not cfg.collect.wants("team-old")
    assert not cfg.collect.wants("other")
    minimal = config.parse(
        {"accounts": [{"name": "a", "regions": ["hk"]}]},
        env={
            "UCLOUD_PUBLIC_KEY": "p",
            "UCLOUD_PRIVATE_KEY": "s",
            "UCLOUD_PROJECT_ID": "org-env",
            "UCLOUD_API_BASE_URL": "http://127.0.0.1:9/",
        },
    )
    assert minimal.ucloud.base_url == "http://127.0.0.1:9/"
    assert minimal.ucloud.page_size == 100 and minimal.ucloud.max_concurrent_requests == 8
    assert minimal.ucloud.max_response_bytes == 8 * 1024 * 1024
    assert minimal.ucloud.max_buckets_per_listing == 100_000
    assert minimal.accounts[0].project_id == "org-env"
    assert minimal.accounts[0].bucket_type == "All"


def test_private_key_never_in_repr():
    cfg = config.parse(yaml.safe_load(GOOD), env={})
    assert "TOPSECRET" not in repr(cfg) and "TOPSECRET" not in str(cfg.accounts[0])
    assert cfg.accounts[0].private_key.reveal() == "TOPSECRET-PRIVATE"


def test_all_problems_reported_at_once_with_paths():
    data = {
        "ucloud": {"page_size": 0, "retries": "two", "bogus": 1, "base_url": "ftp://x"},
        "collect": {"include_buckets": ["("], "min_interval_seconds": -1},
        "accounts": [
            {"name": "a", "public_key": "p", "private_key": "s", "regions": ["cn-bj2"]},
            {"name": "a", "public_key": "p", "private_key": "s", "regions": []},
            {"name": "b", "regions": ["cn-bj2", "cn-bj2"], "bucket_type": "Mine", "extra": 1},
            "not-a-mapping",
        ],
    }
    got = problems(data)
    expected_paths = [
        "ucloud.bogus: unknown key",
        "ucloud.base_url:",
        "ucloud.page_size:",
        "ucloud.retries:",
        "collect.min_interval_seconds:",
        "collect.include_buckets[0]:",
        "accounts[1].regions: must be a non-empty list",
        "accounts[1].name: duplicate",
        "accounts[2].extra: unknown key",
        "accounts[2].public_key: missing",
        "accounts[2].private_key: missing",
        "accounts[2].regions[1]: duplicate",
        "accounts[2].bucket_type:",
        "accounts[3]: must be a mapping",
    ]
    for path in expected_paths:
        assert any(p.startswith(f"c.yaml: {path}") for p in got), (path, got)
    assert len(got) == len(expected_paths)
    assert all("\n" not in p for p in got)


def test_one_line_per_problem_and_no_line_twice():
    got = problems(
        {"accounts": [{"name": "a", "public_key": 123, "private_key": ["x"], "regions": ["hk"]}]}
    )
    assert got == [
        "c.yaml: accounts[0].public_key: must be a string, got int",
        "c.yaml: accounts[0].private_key: must be a string, got list",
    ]


def test_top_level_problems_name_the_top_level():
    assert problems([1, 2]) == [
        "c.yaml: (top level): must be a mapping with ucloud, collect and accounts, got list"
    ]


def test_duplicate_account_name_reported_even_with_other_errors():
    got = problems(
        {
            "accounts": [
                {"name": "a", "public_key": "p", "private_key": "s", "regions": ["hk"]},
                {"name": "a", "public_key": "p", "private_key": "s", "regions": "nowhere"},
            ]
        }
    )
    assert got == [
        "c.yaml: accounts[1].regions: must be a non-empty list of region ids, or auto",
        "c.yaml: accounts[1].name: duplicate account name 'a'",
    ]


def test_duplicate_account_name():
    acc = {"name": "a", "public_key": "p", "private_key": "s", "regions": ["hk"]}
    assert problems({"accounts": [acc, acc]}) == [
        "c.yaml: accounts[1].name: duplicate account name 'a'"
    ]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (None, "c.yaml: accounts: missing: the file is empty"),
        ([1, 2], "c.yaml: (top level): must be a mapping"),
        ({"accounts": {}}, "c.yaml: accounts: must be a non-empty list of accounts"),
        (
            {
                "accounts": [
                    {"name": "bad name!", "public_key": "p", "private_key": "s", "regions": ["hk"]}
                ]
            },
            "c.yaml: accounts[0].name: must be 1-64",
        ),
        ({"ucloud": {"timeout_seconds": True}, "accounts": []}, "c.yaml: ucloud.timeout_seconds"),
        (
            {"ucloud": {"max_response_bytes": 10}, "accounts": []},
            "c.yaml: ucloud.max_response_bytes: must be an integer between 1024 and 268435456",
        ),
        (
            {"ucloud": {"adaptive_concurrency": "yes"}, "accounts": []},
            "c.yaml: ucloud.adaptive_concurrency: must be true or false, got 'yes'",
        ),
        (
            {
                "accounts": [
                    {
                        "name": "a",
                        "public_key": "p",
                        "private_key": "s",
                        "regions": ["hk"],
                        "max_requests_per_second": 0,
                    }
                ]
            },
            "c.yaml: accounts[0].max_requests_per_second: must be a number between 0.01 and 10000",
        ),
        (
            {"ucloud": {"max_buckets_per_listing": 0}, "accounts": []},
            "c.yaml: ucloud.max_buckets_per_listing: must be an integer between 1 and 10000000",
        ),
    ],
)
def test_single_problems(data, expected):
    assert any(p.startswith(expected) for p in problems(data)), problems(data)


def test_key_files_stripped_relative_to_config(tmp_path: Path):
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "pub").write_text("pub-from-file\n")
    (tmp_path / "keys" / "priv").write_text("  priv-from-file \n\n")
    path = tmp_path / "config.yaml"
    path.write_text(
        textwrap.dedent("""
        accounts:
          - name: main
            public_key_file: keys/pub
            private_key_file: keys/priv
            regions: [cn-bj2]
    """)
    )
    acc = config.load(path, env={}).accounts[0]
    assert acc.public_key == "pub-from-file"
    assert acc.private_key.reveal() == "priv-from-file"


def test_key_file_problems_do_not_leak(tmp_path: Path):
    path = tmp_path / "config.yaml"
    path.write_text(
        "accounts:\n  - name: m\n    public_key: p\n    private_key: SECRETX\n"
        "    private_key_file: nope\n    regions: [hk]\n"
        "  - name: n\n    public_key: p\n    private_key_file: missing.key\n"
        "    regions: [hk]\n"
    )
    with pytest.raises(ConfigError) as info:
        config.load(path, env={})
    text = str(info.value)
    assert "accounts[0]: set only one of private_key and private_key_file" in text
    assert "accounts[1].private_key_file: cannot read" in text
    assert "SECRETX" not in text


def test_invalid_yaml_and_missing_file(tmp_path: Path):
    path = tmp_path / "config.yaml"
    path.write_text("accounts: [\n  - :\n")
    with pytest.raises(ConfigError, match=r"config.yaml: invalid YAML at line \d+, column \d+"):
        config.load(path, env={})
    with pytest.raises(ConfigError, match="cannot read config file"):
        config.load(tmp_path / "absent.yaml", env={})


def test_example_config_is_valid(tmp_path: Path):
    example = Path(__file__).resolve().parent.parent / "config.example.yaml"
    data = yaml.safe_load(example.read_text())
    key = tmp_path / "private_key"
    key.write_text("k\n")
    assert data["accounts"][0]["private_key_file"] == "/etc/ucloud-image-exporter/private_key"
    data["accounts"][0]["private_key_file"] = str(key)
    cfg = config.parse(data, env={})
    assert cfg.accounts[0].private_key.reveal() == "k"
    documented = {
        line.split(":")[0].strip(" #-")
        for line in example.read_text().splitlines()
        if ":" in line and not line.lstrip().startswith("#")
    }
    for key_name in (
        "base_url",
        "timeout_seconds",
        "page_size",
        "max_concurrent_requests",
        "retries",
        "min_interval_seconds",
        "include_buckets",
        "exclude_buckets",
        "name",
        "public_key",
        "private_key_file",
        "project_id",
        "regions",
        "bucket_type",
        "bucket_name",
        "max_response_bytes",
        "max_buckets_per_listing",
        "adaptive_concurrency",
        "max_requests_per_second",
    ):
        assert key_name in documented
