"""Load and validate the exporter's YAML configuration.

Every problem is reported at once, one line each, naming the key path::

    config.yaml: accounts[1].regions: must be a non-empty list of region ids
    config.yaml: ucloud.page_size: must be an integer between 1 and 1000, got 0
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from exporter.secret import Secret
from exporter.validation import Checker, ConfigError, kind_of, load_yaml, read_small_file

__all__ = ["Account", "CollectSettings", "Config", "ConfigError", "Secret", "UCloudSettings",
           "load", "parse"]

DEFAULT_BASE_URL = "https://api.ucloud.cn"
BUCKET_TYPES = ("All", "User", "Share")
_REGION_RE = re.compile(r"^[a-z][a-z0-9-]{0,63}$")
_NAME_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
MAX_CONFIG_BYTES = 1024 * 1024  # a configuration of thousands of accounts fits
MAX_KEY_FILE_BYTES = 64 * 1024  # API keys are short: refuse anything else


@dataclass(frozen=True)
class UCloudSettings:
    """The ``ucloud:`` section: how to talk to the API."""

    base_url: str = DEFAULT_BASE_URL
    timeout_seconds: float = 10.0
    page_size: int = 100
    max_concurrent_requests: int = 8
    retries: int = 2
    max_response_bytes: int = 8 * 1024 * 1024
    max_buckets_per_listing: int = 100_000


@dataclass(frozen=True)
class CollectSettings:
    """The ``collect:`` section: what to collect and how often."""

    min_interval_seconds: float = 0.0
    region_refresh_seconds: float = 3600.0
    include_buckets: tuple[re.Pattern[str], ...] = ()
    exclude_buckets: tuple[re.Pattern[str], ...] = ()

    def wants(self, bucket: str) -> bool:
        """Return whether the include/exclude regexes keep this bucket name."""
        if self.include_buckets and not any(p.fullmatch(bucket) for p in self.include_buckets):
            return False
        return not any(p.fullmatch(bucket) for p in self.exclude_buckets)


@dataclass(frozen=True)
class Account:
    """One UCloud account (key pair) and the regions to list for it."""

    name: str
    public_key: str
    private_key: Secret = field(repr=False)
    project_id: str | None
    regions: tuple[str, ...]  # empty when discovered (``regions: auto``)
    bucket_type: str = "All"
    bucket_name: str = ""
    discover_regions: bool = False


@dataclass(frozen=True)
class Config:
    """The whole validated configuration."""

    ucloud: UCloudSettings
    collect: CollectSettings
    accounts: tuple[Account, ...]


def _ucloud(check: Checker, raw: Any, env: Mapping[str, str]) -> UCloudSettings:
    d = UCloudSettings()
    s = check.mapping(raw, "ucloud", ("base_url", "timeout_seconds", "page_size",
                                      "max_concurrent_requests", "retries",
                                      "max_response_bytes", "max_buckets_per_listing"))
    base_url = check.string(s, "ucloud", "base_url", env.get("UCLOUD_API_BASE_URL") or d.base_url)
    if base_url is not None and not re.match(r"^https?://[^/\s]+", base_url):
        check.fail("ucloud.base_url", f"must be an http:// or https:// URL, got {base_url!r}")
    return UCloudSettings(
        base_url=base_url or d.base_url,
        timeout_seconds=float(check.number(s, "ucloud", "timeout_seconds", d.timeout_seconds,
                                           low=0.001, high=600, integer=False)),
        page_size=check.number(s, "ucloud", "page_size", d.page_size, low=1, high=1000,
                               integer=True),
        max_concurrent_requests=check.number(s, "ucloud", "max_concurrent_requests",
                                             d.max_concurrent_requests, low=1, high=256,
                                             integer=True),
        retries=check.number(s, "ucloud", "retries", d.retries, low=0, high=10, integer=True),
        max_response_bytes=check.number(s, "ucloud", "max_response_bytes",
                                        d.max_response_bytes, low=1024, high=256 * 1024 * 1024,
                                        integer=True),
        max_buckets_per_listing=check.number(s, "ucloud", "max_buckets_per_listing",
                                             d.max_buckets_per_listing, low=1,
                                             high=10_000_000, integer=True),
    )


def _collect(check: Checker, raw: Any) -> CollectSettings:
    s = check.mapping(raw, "collect", ("min_interval_seconds", "region_refresh_seconds",
                                       "include_buckets", "exclude_buckets"))
    return CollectSettings(
        min_interval_seconds=float(check.number(s, "collect", "min_interval_seconds", 0.0,
                                                low=0, high=86400, integer=False)),
        region_refresh_seconds=float(check.number(s, "collect", "region_refresh_seconds",
                                                  3600.0, low=1, high=7 * 86400,
                                                  integer=False)),
        include_buckets=check.patterns(s, "collect", "include_buckets"),
        exclude_buckets=check.patterns(s, "collect", "exclude_buckets"),
    )


_ACCOUNT_KEYS = ("name", "public_key", "public_key_file", "private_key", "private_key_file",
                 "project_id", "regions", "bucket_type", "bucket_name")


def _key(check: Checker, a: Mapping[str, Any], path: str, which: str, *,
         env: Mapping[str, str], base: Path) -> str | None:
    """Read ``<which>_key`` from inline, ``<which>_key_file`` or the environment."""
    inline = check.string(a, path, f"{which}_key")
    file_ = check.string(a, path, f"{which}_key_file")
    if inline is None and file_ is None and any(
            a.get(k) is not None for k in (f"{which}_key", f"{which}_key_file")):
        return None  # set, but not a string: reported once already
    if inline is not None and file_ is not None:
        check.fail(path, f"set only one of {which}_key and {which}_key_file")
        return None
    if file_ is not None:
        p = base / Path(file_).expanduser()
        try:
            value = read_small_file(p, limit=MAX_KEY_FILE_BYTES).decode("utf-8").strip()
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or "not a readable UTF-8 text file"
            check.fail(f"{path}.{which}_key_file", f"cannot read {str(p)!r}: {reason}")
            return None
        if not value:
            check.fail(f"{path}.{which}_key_file", f"file {str(p)!r} is empty")
        return value or None
    found = inline if inline is not None else env.get(f"UCLOUD_{which.upper()}_KEY")
    if not found or not found.strip():
        check.fail(f"{path}.{which}_key", f"missing: set {which}_key, {which}_key_file "
                                          f"or env UCLOUD_{which.upper()}_KEY")
        return None
    return found.strip()


def _regions(check: Checker, a: Mapping[str, Any], path: str) -> tuple[str, ...] | None:
    """Return the listed regions, None for ``auto`` (discovery), () when invalid."""
    value = a.get("regions")
    if value == "auto":
        return None
    if not isinstance(value, list) or not value:
        check.fail(f"{path}.regions", "must be a non-empty list of region ids, or auto")
        return ()
    regions: list[str] = []
    for i, r in enumerate(value):
        if not isinstance(r, str) or not _REGION_RE.match(r):
            check.fail(f"{path}.regions[{i}]", f"must be a region id like cn-bj2, got {r!r}")
        elif r in regions:
            check.fail(f"{path}.regions[{i}]", f"duplicate region {r!r}")
        else:
            regions.append(r)
    return tuple(regions)


def _account(check: Checker, raw: Any, path: str, env: Mapping[str, str],
             base: Path) -> Account | None:
    if not isinstance(raw, Mapping):
        check.fail(path, f"must be a mapping, got {kind_of(raw)}")
        return None
    a = check.mapping(raw, path, _ACCOUNT_KEYS)
    name = check.string(a, path, "name")
    if name is None:
        check.fail(f"{path}.name", "missing: every account needs a name (the account label)")
    elif not _NAME_RE.match(name):
        check.fail(f"{path}.name", f"must be 1-64 characters of A-Z a-z 0-9 _ . : -, "
                                   f"got {name!r}")
    public_key = _key(check, a, path, "public", env=env, base=base)
    private_key = _key(check, a, path, "private", env=env, base=base)
    project_id = check.string(a, path, "project_id", env.get("UCLOUD_PROJECT_ID") or None)
    regions = _regions(check, a, path)
    bucket_type = check.string(a, path, "bucket_type", "All")
    if bucket_type not in BUCKET_TYPES:
        check.fail(f"{path}.bucket_type", f"must be one of {', '.join(BUCKET_TYPES)}, "
                                          f"got {bucket_type!r}")
    bucket_name = check.string(a, path, "bucket_name", "") or ""
    if not (name and public_key and private_key and regions != ()
            and bucket_type in BUCKET_TYPES):
        return None
    return Account(name=name, public_key=public_key, private_key=Secret(private_key),
                   project_id=project_id or None, regions=regions or (),
                   bucket_type=str(bucket_type), bucket_name=bucket_name,
                   discover_regions=regions is None)


def _accounts(check: Checker, raw: Any, env: Mapping[str, str],
              base: Path) -> tuple[Account, ...]:
    if not isinstance(raw, list) or not raw:
        check.fail("accounts", "must be a non-empty list of accounts")
        return ()
    out: list[Account] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        acc = _account(check, item, f"accounts[{i}]", env, base)
        name = item.get("name") if isinstance(item, Mapping) else None
        if isinstance(name, str) and name in seen:  # also when the entry has other problems
            check.fail(f"accounts[{i}].name", f"duplicate account name {name!r}")
            continue
        if isinstance(name, str):
            seen.add(name)
        if acc is not None:
            out.append(acc)
    return tuple(out)


def parse(data: Any, *, source: str = "config", env: Mapping[str, str] | None = None,
          base_dir: Path | None = None) -> Config:
    """Validate already-decoded YAML ``data``; raise ConfigError listing every problem."""
    env = os.environ if env is None else env
    check = Checker(source)
    if data is not None and not isinstance(data, Mapping):
        check.fail("(top level)", f"must be a mapping with ucloud, collect and accounts, "
                                  f"got {kind_of(data)}")
        raise ConfigError(check.problems)
    top = check.mapping(data, "", ("ucloud", "collect", "accounts"))
    if data is None:
        check.fail("accounts", "missing: the file is empty")
    config = Config(
        ucloud=_ucloud(check, top.get("ucloud"), env),
        collect=_collect(check, top.get("collect")),
        accounts=_accounts(check, top.get("accounts"), env, base_dir or Path.cwd())
        if data is not None else (),
    )
    if check.problems:
        raise ConfigError(check.problems)
    return config


def load(path: str | Path, *, env: Mapping[str, str] | None = None) -> Config:
    """Read and validate the YAML file at ``path``; key files are relative to it."""
    p = Path(path)
    data = load_yaml(p, what="config file", limit=MAX_CONFIG_BYTES)
    return parse(data, source=str(p), env=env, base_dir=p.parent)
