"""Keys from ucloud-cli's profiles (``~/.ucloud/credential.json`` and ``config.json``).

The files and their semantics are ucloud-sdk-go's (``external/shared_config.go``,
``external/env_config.go``, ``external/config.go``): a JSON list per file, one object per
profile; the profile's keys from the credential file, its project, region and gateway from
the config file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from exporter import config
from exporter.config import ConfigError
from exporter.simulator import Account as SimAccount
from exporter.simulator import Bucket, Fleet, Simulator
from tests.support.procs import Exporter, run_cli, samples, value
from tests.support.profiles import (
    PROFILE_PROJECT,
    PROFILE_PUBLIC_KEY,
    PROFILE_SECRET,
    write_ucloud_home,
)


def load(tmp_path: Path, accounts: list[Any], env: dict[str, str], **top: object):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({**top, "accounts": accounts}))
    return config.load(path, env=env)


def problems(tmp_path: Path, accounts: list[Any], env: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, accounts, env)
    assert all("\n" not in p for p in info.value.problems)
    return info.value.problems


def test_ucloud_profile_env_gives_keys_project_and_region(tmp_path: Path) -> None:
    credential, _ = write_ucloud_home(tmp_path / "home")
    env = {"HOME": str(tmp_path / "home"), "UCLOUD_PROFILE": "default"}
    (acc,) = load(tmp_path, [{"name": "main"}], env).accounts
    assert acc.public_key == PROFILE_PUBLIC_KEY
    assert acc.private_key.reveal() == PROFILE_SECRET
    assert acc.project_id == PROFILE_PROJECT and acc.regions == ("cn-bj2",)
    assert acc.credential_source == f"profile default ({credential})"
    assert PROFILE_SECRET not in repr(acc)


def test_profile_key_picks_the_named_profile_not_the_active_one(tmp_path: Path) -> None:
    write_ucloud_home(tmp_path / "home")
    env = {"HOME": str(tmp_path / "home"), "UCLOUD_PROFILE": "default"}
    (acc,) = load(tmp_path, [{"name": "m", "profile": "ucloud"}], env).accounts
    assert acc.public_key == "other-public" and acc.project_id == "org-other"
    assert acc.regions == ("cn-sh2",)


def test_explicit_keys_win_over_the_profile(tmp_path: Path) -> None:
    write_ucloud_home(tmp_path / "home")
    env = {"HOME": str(tmp_path / "home"), "UCLOUD_PROFILE": "default"}
    account = {
        "name": "m",
        "profile": "default",
        "private_key": "explicit-private",
        "project_id": "org-explicit",
        "regions": ["hk", "sg"],
    }
    (acc,) = load(tmp_path, [account], env).accounts
    assert acc.public_key == PROFILE_PUBLIC_KEY  # not set in the account: the profile's
    assert acc.private_key.reveal() == "explicit-private"
    assert acc.project_id == "org-explicit" and acc.regions == ("hk", "sg")
    # Both keys explicit: UCLOUD_PROFILE is not consulted at all (today's behaviour).
    static = {"name": "s", "public_key": "p", "private_key": "s", "regions": ["hk"]}
    (acc,) = load(tmp_path, [static], env).accounts
    assert acc.public_key == "p" and acc.project_id is None
    assert acc.credential_source == "static"


def test_profile_wins_over_environment_keys_and_region(tmp_path: Path) -> None:
    write_ucloud_home(tmp_path / "home")
    env = {
        "HOME": str(tmp_path / "home"),
        "UCLOUD_PUBLIC_KEY": "env-public",
        "UCLOUD_PRIVATE_KEY": "env-private",
        "UCLOUD_PROJECT_ID": "org-env",
        "UCLOUD_REGION": "hk",
    }
    (acc,) = load(tmp_path, [{"name": "m", "profile": "default"}], env).accounts
    assert acc.public_key == PROFILE_PUBLIC_KEY and acc.project_id == PROFILE_PROJECT
    assert acc.regions == ("cn-bj2",)
    # No profile anywhere: the environment, as before, and UCLOUD_REGION for regions.
    (acc,) = load(tmp_path, [{"name": "m"}], env).accounts
    assert acc.public_key == "env-public" and acc.private_key.reveal() == "env-private"
    assert acc.project_id == "org-env" and acc.regions == ("hk",)
    assert acc.credential_source == "env"


def test_shared_file_env_vars_point_elsewhere(tmp_path: Path) -> None:
    credential, cfg = write_ucloud_home(tmp_path / "elsewhere", region="sg")
    env = {
        "HOME": str(tmp_path / "empty-home"),
        "UCLOUD_SHARED_CREDENTIAL_FILE": str(credential),
        "UCLOUD_SHARED_CONFIG_FILE": str(cfg),
    }
    (acc,) = load(tmp_path, [{"name": "m", "profile": "default"}], env).accounts
    assert acc.public_key == PROFILE_PUBLIC_KEY and acc.regions == ("sg",)
    # "~/" in the variable is the HOME of the environment, as the SDK's getCredFilePath
    env = {
        "HOME": str(tmp_path / "elsewhere"),
        "UCLOUD_SHARED_CREDENTIAL_FILE": "~/.ucloud/credential.json",
    }
    (acc,) = load(tmp_path, [{"name": "m", "profile": "default"}], env).accounts
    assert acc.public_key == PROFILE_PUBLIC_KEY


def test_the_default_config_file_may_be_absent(tmp_path: Path) -> None:
    """As the SDK: only a missing *default* config file is fine (no project, no region)."""
    _, cfg = write_ucloud_home(tmp_path / "home")
    cfg.unlink()
    env = {"HOME": str(tmp_path / "home")}
    (acc,) = load(tmp_path, [{"name": "m", "profile": "default", "regions": ["hk"]}], env).accounts
    assert acc.public_key == PROFILE_PUBLIC_KEY and acc.project_id is None
    env["UCLOUD_SHARED_CONFIG_FILE"] = str(cfg)
    (line,) = problems(tmp_path, [{"name": "m", "profile": "default", "regions": ["hk"]}], env)
    assert line.endswith(
        f"accounts[0].profile: cannot read {str(cfg)!r}: No such file or directory"
    )


def test_bad_profiles_one_line_each_all_at_once(tmp_path: Path) -> None:
    home = tmp_path / "home"
    credential, cfg = write_ucloud_home(home, base_url="https://api.ucloud.cn/")
    env = {"HOME": str(home)}
    assert load(tmp_path, [{"name": "m", "profile": "default"}], env).accounts  # "/" is the same
    write_ucloud_home(home, base_url="https://api.other.example")
    lines = problems(
        tmp_path,
        [
            {"name": "a", "profile": "nope", "regions": ["hk"]},
            {"name": "b", "profile": "default"},
            {"name": "c", "profile": 7, "regions": ["hk"]},
            {"name": "d", "profile": "", "regions": ["hk"]},
        ],
        env,
    )
    assert lines == [
        f"{tmp_path / 'config.yaml'}: accounts[0].profile: profile 'nope' is not in "
        f"{str(credential)!r}",
        f"{tmp_path / 'config.yaml'}: accounts[1].profile: profile 'default' in {str(cfg)!r} has "
        "base_url 'https://api.other.example', not ucloud.base_url 'https://api.ucloud.cn' "
        "(one gateway for all accounts: set ucloud.base_url, or remove it from the profile)",
        f"{tmp_path / 'config.yaml'}: accounts[2].profile: must be a string, got int",
        f"{tmp_path / 'config.yaml'}: accounts[3].profile: must be a profile name, got ''",
    ], lines


@pytest.mark.parametrize(
    ("which", "text", "expected"),
    [
        ("credential", "[{", "invalid JSON at line 1, column 3: Expecting property name"),
        ("credential", '{"profile": "default"}', "must be a JSON list of profiles, got an object"),
        ("credential", "[1]", "entry 0: must be an object, got a number"),
        (
            "credential",
            '[{"profile": "default", "public_key": 5}]',
            "entry 0: public_key must be a string, got a number",
        ),
        ("credential", '[{"profile": "default", "public_key": "p"}]', "has no private_key"),
        ("credential", '[{"profile": "default", "private_key": "x"}]', "has no public_key"),
        ("credential", "\xff", "not UTF-8 text"),
        ("config", "nope", "invalid JSON at line 1, column 1: Expecting value"),
        (
            "config",
            '[{"profile": "default", "region": "Not A Region"}]',
            "has region 'Not A Region', not a region id like cn-bj2",
        ),
        (
            "config",
            '[{"profile": "default", "timeout_sec": "x"}]',
            "entry 0: timeout_sec must be a whole number, got a string",
        ),
    ],
)
def test_bad_shared_files(tmp_path: Path, which: str, text: str, expected: str) -> None:
    credential, cfg = write_ucloud_home(tmp_path / "home")
    target = credential if which == "credential" else cfg
    target.write_bytes(text.encode("latin-1"))
    env = {"HOME": str(tmp_path / "home")}
    (line,) = problems(tmp_path, [{"name": "m", "profile": "default"}], env)
    assert line.startswith(f"{tmp_path / 'config.yaml'}: accounts[0].profile: ")
    assert f"{str(target)!r}" in line and expected in line, line


def test_the_reader_never_blocks_nor_reads_too_much(tmp_path: Path) -> None:
    credential, _ = write_ucloud_home(tmp_path / "home")
    credential.unlink()
    os.mkfifo(credential)  # a FIFO nobody writes: opened without blocking, refused at once
    env = {"HOME": str(tmp_path / "home")}
    (line,) = problems(tmp_path, [{"name": "m", "profile": "default"}], env)
    assert line.endswith(
        f"accounts[0].profile: cannot read {str(credential)!r}: not a regular file"
    )
    credential.unlink()
    credential.write_text("[" + " " * (1024 * 1024) + "]")
    (line,) = problems(tmp_path, [{"name": "m", "profile": "default"}], env)
    assert f"cannot read {str(credential)!r}: larger than 256 KiB" in line
    credential.unlink()
    credential.mkdir()
    (line,) = problems(tmp_path, [{"name": "m", "profile": "default"}], env)
    assert f"cannot read {str(credential)!r}" in line


def test_no_keys_anywhere_names_every_source(tmp_path: Path) -> None:
    lines = problems(tmp_path, [{"name": "m"}], {"HOME": str(tmp_path)})
    assert any(
        "accounts[0].public_key: missing: set public_key, public_key_file, profile, "
        "env UCLOUD_PROFILE or env UCLOUD_PUBLIC_KEY" in ln
        for ln in lines
    ), lines
    assert any(
        "accounts[0].regions: must be a non-empty list of region ids, or auto (or come "
        "from a profile's region or env UCLOUD_REGION)" in ln
        for ln in lines
    ), lines


@pytest.mark.e2e
def test_config_check_names_each_credential_source(tmp_path: Path) -> None:
    credential, _ = write_ucloud_home(tmp_path / "home")
    path = tmp_path / "config.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "accounts": [
                    {"name": "main", "profile": "default"},
                    {"name": "fixed", "public_key": "p", "private_key": "s", "regions": ["hk"]},
                    {"name": "fromenv", "regions": ["hk"]},
                ]
            }
        )
    )
    env = {
        "HOME": str(tmp_path / "home"),
        "UCLOUD_PUBLIC_KEY": "env-public",
        "UCLOUD_PRIVATE_KEY": "env-private",
    }
    done = run_cli("--config.file", str(path), "--config.check", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"{path}: OK (3 accounts, 3 targets)",
        f"  main: profile default ({credential}); projects: org-profile; regions: cn-bj2",
        "  fixed: static; project: the key's default; regions: hk",
        "  fromenv: env; project: the key's default; regions: hk",
    ]
    assert PROFILE_SECRET not in done.stdout + done.stderr


@pytest.mark.e2e
def test_the_exporter_scrapes_with_a_profile_only_config(tmp_path: Path) -> None:
    """A real process: HOME with ucloud-cli's files, UCLOUD_PROFILE, a config of names only."""
    fleet = Fleet(
        [
            SimAccount(
                PROFILE_PUBLIC_KEY,
                PROFILE_SECRET,
                {PROFILE_PROJECT},
                {"cn-bj2": [Bucket("from-profile", "Private", 4, 1_600_000_000)]},
            )
        ]
    )
    with Simulator(fleet) as sim:
        home = tmp_path / "home"
        write_ucloud_home(home, base_url=sim.url)
        env = {"HOME": str(home), "UCLOUD_PROFILE": "default"}
        for var in (
            "UCLOUD_PUBLIC_KEY",
            "UCLOUD_PRIVATE_KEY",
            "UCLOUD_PROJECT_ID",
            "UCLOUD_REGION",
        ):
            env[var] = ""
        exp = Exporter(
            tmp_path / "run",
            {"ucloud": {"base_url": sim.url}, "accounts": [{"name": "main"}]},
            env=env,
        )
        try:
            text = exp.get().text
        finally:
            assert exp.stop() == 0
    m = samples(text)
    assert value(m, "ucloud_image_bucket_up", account="main", region="cn-bj2") == 1, text
    assert (
        value(
            m,
            "ucloud_image_bucket_images",
            account="main",
            region="cn-bj2",
            bucket="from-profile",
            type="private",
        )
        == 4
    )
    assert PROFILE_SECRET not in text + exp.logs()


def test_ucloud_region_is_checked_like_any_region(tmp_path: Path) -> None:
    env = {"UCLOUD_PUBLIC_KEY": "p", "UCLOUD_PRIVATE_KEY": "s", "UCLOUD_REGION": "Bad Region"}
    (line,) = problems(tmp_path, [{"name": "m"}], env)
    assert line.endswith(
        "accounts[0].regions: env UCLOUD_REGION is 'Bad Region', not a region id like cn-bj2"
    )
    (acc,) = load(tmp_path, [{"name": "m", "regions": "auto"}], env).accounts
    assert acc.discover_regions and acc.regions == ()  # regions given: UCLOUD_REGION unused


def test_a_broken_profile_does_not_hide_the_accounts_other_problems(tmp_path: Path) -> None:
    lines = problems(
        tmp_path,
        [{"name": "m", "profile": "nope", "public_key": 5, "regions": ["BAD"]}],
        {"HOME": str(tmp_path)},
    )
    assert [ln.split(": ", 2)[1] for ln in lines] == [
        "accounts[0].profile",
        "accounts[0].public_key",
        "accounts[0].regions[0]",
    ], lines
