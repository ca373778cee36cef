"""Load and validate the exporter's YAML configuration.

Every problem is reported at once, one line each, naming the key path::

    config.yaml: accounts[1].regions: must be a non-empty list of region ids
    config.yaml: ucloud.page_size: must be an integer between 1 and 1000, got 0
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from exporter.accounts import Account, parse_accounts, parse_quotas
from exporter.credentials import DEFAULT_METADATA_URL, INTERNAL_BASE_URL
from exporter.secret import Secret
from exporter.validation import Checker, ConfigError, kind_of, load_yaml

__all__ = [
    "Account",
    "CollectSettings",
    "Config",
    "ConfigError",
    "DockerImagesSettings",
    "HostImagesSettings",
    "Secret",
    "UCloudSettings",
    "UHubSettings",
    "load",
    "parse",
]

DEFAULT_BASE_URL = "https://api.ucloud.cn"
MAX_CONFIG_BYTES = 1024 * 1024  # a configuration of thousands of accounts fits


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
    adaptive_concurrency: bool = True
    metadata_url: str = DEFAULT_METADATA_URL  # the instance metadata service (instance_role)


@dataclass(frozen=True)
class CollectSettings:
    """The ``collect:`` section: what to collect and how often."""

    min_interval_seconds: float = 0.0
    region_refresh_seconds: float = 3600.0
    project_refresh_seconds: float = 3600.0  # project_id: auto lists the projects this often
    #: a target whose last listing found no bucket is listed again at most this often
    empty_interval_seconds: float = 600.0
    listing_timeout_seconds: float = 300.0  # a listing's hard cap, whatever the scrapes
    max_data_age_seconds: float = 600.0  # serve a target's last data up to this old
    include_buckets: tuple[re.Pattern[str], ...] = ()
    exclude_buckets: tuple[re.Pattern[str], ...] = ()
    #: false: no per-bucket or per-image family at all, only counts and health
    per_bucket_series: bool = True
    #: past it, whole families are left out of a scrape (exporter.budget says which first)
    max_series: int = 500_000

    def wants(self, bucket: str) -> bool:
        """Return whether the include/exclude regexes keep this bucket name."""
        if self.include_buckets and not any(p.fullmatch(bucket) for p in self.include_buckets):
            return False
        return not any(p.fullmatch(bucket) for p in self.exclude_buckets)


TAG_COUNT_MODES = ("off", "top", "all")
UHUB_REPO_TYPES = ("private", "public")


@dataclass(frozen=True)
class UHubSettings:
    """The ``uhub:`` section: how the accounts with ``uhub: true`` list their registry."""

    refresh_seconds: float = 300.0  # UHub is listed in the background, this often
    max_data_age_seconds: float = 900.0  # serve the last registry up to this old
    tag_counts: str = "top"  # which images get a GetImageTag call: off, top or all
    tag_counts_top: int = 50  # with top: each account's most pulled images
    repo_types: tuple[str, ...] = UHUB_REPO_TYPES  # the GetRepo Type values asked
    max_images: int = 20_000  # per account and refresh: beyond it the refresh keeps the first


@dataclass(frozen=True)
class DockerImagesSettings:
    """The ``docker_images:`` section: the images inside buckets (``docker_images: true``)."""

    refresh_seconds: float = 600.0  # listed in the background, this often
    max_data_age_seconds: float = 1800.0  # serve a bucket's last images up to this old
    max_buckets_per_refresh: int = 1000  # per account and refresh, rotating through all
    max_images: int = 500_000  # held per account: beyond it a bucket's images are not kept


#: UCloud's custom host image quota per region (uhost product docs, guide/image/common.md:
#: 华北一 30, 华北二 30, 上海二 30, 广东 10, 香港 10, 加州 10).
DEFAULT_HOST_IMAGE_QUOTAS: tuple[tuple[str, int], ...] = (
    ("cn-bj1", 30),
    ("cn-bj2", 30),
    ("cn-gd", 10),
    ("cn-sh2", 30),
    ("hk", 10),
    ("us-ca", 10),
)


@dataclass(frozen=True)
class HostImagesSettings:
    """The ``host_images:`` section: custom host images (``host_images: true``)."""

    refresh_seconds: float = 600.0
    max_data_age_seconds: float = 1800.0
    #: the quota of each region (the defaults, then ``quotas`` over them)
    quotas: tuple[tuple[str, int], ...] = DEFAULT_HOST_IMAGE_QUOTAS

    def quota(self, account: Account, region: str) -> int | None:
        """Return ``region``'s quota for ``account`` (its own, else this section's); None
        when neither names the region."""
        return dict(self.quotas + account.host_image_quotas).get(region)


@dataclass(frozen=True)
class Config:
    """The whole validated configuration."""

    ucloud: UCloudSettings
    collect: CollectSettings
    accounts: tuple[Account, ...]
    uhub: UHubSettings = UHubSettings()
    docker_images: DockerImagesSettings = DockerImagesSettings()
    host_images: HostImagesSettings = HostImagesSettings()


# ucloud: numbers: key -> (lowest, highest, whole number)
_UCLOUD_NUMBERS: dict[str, tuple[float, float, bool]] = {
    "timeout_seconds": (0.001, 600, False),
    "page_size": (1, 1000, True),
    "max_concurrent_requests": (1, 256, True),
    "retries": (0, 10, True),
    "max_response_bytes": (1024, 256 * 1024 * 1024, True),
    "max_buckets_per_listing": (1, 10_000_000, True),
}
# collect: durations in seconds: key -> (lowest, highest)
_COLLECT_SECONDS: dict[str, tuple[float, float]] = {
    "min_interval_seconds": (0, 86400),
    "region_refresh_seconds": (1, 7 * 86400),
    "project_refresh_seconds": (1, 7 * 86400),
    "empty_interval_seconds": (0, 86400),
    "listing_timeout_seconds": (1, 3600),
    "max_data_age_seconds": (0, 86400),
}


def _ucloud(
    check: Checker, raw: Any, env: Mapping[str, str], *, internal: bool = False
) -> UCloudSettings:
    """``internal``: every account uses an instance role, so the gateway defaults to UCloud's
    internal endpoint (as ucloud-sdk-go's STS configs do) unless base_url is set."""
    d = UCloudSettings(base_url=INTERNAL_BASE_URL if internal else DEFAULT_BASE_URL)
    s = check.mapping(
        raw, "ucloud", ("base_url", *_UCLOUD_NUMBERS, "adaptive_concurrency", "metadata_url")
    )
    base_url = check.string(s, "ucloud", "base_url", env.get("UCLOUD_API_BASE_URL") or d.base_url)
    if base_url is not None and not re.match(r"^https?://[^/\s]+", base_url):
        check.fail("ucloud.base_url", f"must be an http:// or https:// URL, got {base_url!r}")
    metadata_url = check.string(s, "ucloud", "metadata_url", d.metadata_url)
    if metadata_url is not None and not re.match(r"^https?://[^/\s]+$", metadata_url.rstrip("/")):
        check.fail(
            "ucloud.metadata_url", f"must be an http:// or https:// URL, got {metadata_url!r}"
        )
    numbers = {
        key: check.number(s, "ucloud", key, getattr(d, key), low=low, high=high, integer=whole)
        for key, (low, high, whole) in _UCLOUD_NUMBERS.items()
    }
    return UCloudSettings(
        base_url=base_url or d.base_url,
        metadata_url=(metadata_url or d.metadata_url).rstrip("/"),
        adaptive_concurrency=check.boolean(
            s, "ucloud", "adaptive_concurrency", d.adaptive_concurrency
        ),
        **numbers,
    )


def _collect(check: Checker, raw: Any) -> CollectSettings:
    s = check.mapping(
        raw,
        "collect",
        (
            *_COLLECT_SECONDS,
            "include_buckets",
            "exclude_buckets",
            "per_bucket_series",
            "max_series",
        ),
    )
    d = CollectSettings()
    numbers = {
        key: float(
            check.number(s, "collect", key, getattr(d, key), low=low, high=high, integer=False)
        )
        for key, (low, high) in _COLLECT_SECONDS.items()
    }
    return CollectSettings(
        include_buckets=check.patterns(s, "collect", "include_buckets"),
        exclude_buckets=check.patterns(s, "collect", "exclude_buckets"),
        per_bucket_series=check.boolean(s, "collect", "per_bucket_series", d.per_bucket_series),
        max_series=int(
            check.number(
                s, "collect", "max_series", d.max_series, low=1, high=100_000_000, integer=True
            )
        ),
        **numbers,
    )


def _uhub(check: Checker, raw: Any) -> UHubSettings:
    keys = (
        "refresh_seconds",
        "max_data_age_seconds",
        "tag_counts",
        "tag_counts_top",
        "repo_types",
        "max_images",
    )
    s, d = check.mapping(raw, "uhub", keys), UHubSettings()
    every = float(
        check.number(
            s, "uhub", "refresh_seconds", d.refresh_seconds, low=10, high=86400, integer=False
        )
    )
    age = float(
        check.number(
            s, "uhub", "max_data_age_seconds", 3 * every, low=0, high=7 * 86400, integer=False
        )
    )
    if age < every:
        check.fail("uhub.max_data_age_seconds", f"must be at least refresh_seconds ({every:g})")
    mode = s.get("tag_counts", d.tag_counts)
    mode = "off" if mode is False else mode  # YAML reads an unquoted off as false
    if mode not in TAG_COUNT_MODES:
        check.fail("uhub.tag_counts", f"must be one of off, top, all; got {mode!r}")
    top = check.number(
        s, "uhub", "tag_counts_top", d.tag_counts_top, low=1, high=100_000, integer=True
    )
    most = check.number(s, "uhub", "max_images", d.max_images, low=1, high=1_000_000, integer=True)
    types = s.get("repo_types", list(d.repo_types))
    if not isinstance(types, list) or not types or not set(types) <= set(UHUB_REPO_TYPES):
        check.fail("uhub.repo_types", f"must be a non-empty list of private, public; got {types!r}")
        types = d.repo_types
    return UHubSettings(
        refresh_seconds=every,
        max_data_age_seconds=age,
        tag_counts=mode if mode in TAG_COUNT_MODES else d.tag_counts,
        tag_counts_top=int(top),
        repo_types=tuple(dict.fromkeys(types)),
        max_images=int(most),
    )


def _refresh(
    check: Checker, s: Mapping[str, Any], path: str, default: float
) -> tuple[float, float]:
    """Read a background source's ``refresh_seconds`` and ``max_data_age_seconds`` (by default
    three intervals, and never less than one)."""
    every = float(
        check.number(s, path, "refresh_seconds", default, low=10, high=86400, integer=False)
    )
    age = float(
        check.number(
            s, path, "max_data_age_seconds", 3 * every, low=0, high=7 * 86400, integer=False
        )
    )
    if age < every:
        check.fail(f"{path}.max_data_age_seconds", f"must be at least refresh_seconds ({every:g})")
    return every, age


def _docker_images(check: Checker, raw: Any) -> DockerImagesSettings:
    keys = ("refresh_seconds", "max_data_age_seconds", "max_buckets_per_refresh", "max_images")
    s, d = check.mapping(raw, "docker_images", keys), DockerImagesSettings()
    every, age = _refresh(check, s, "docker_images", d.refresh_seconds)
    most = check.number(
        s, "docker_images", "max_buckets_per_refresh", d.max_buckets_per_refresh,
        low=1, high=1_000_000, integer=True,
    )  # fmt: skip
    images = check.number(
        s, "docker_images", "max_images", d.max_images, low=1, high=10_000_000, integer=True
    )
    return DockerImagesSettings(every, age, int(most), int(images))


def _host_images(check: Checker, raw: Any) -> HostImagesSettings:
    s = check.mapping(raw, "host_images", ("refresh_seconds", "max_data_age_seconds", "quotas"))
    d = HostImagesSettings()
    every, age = _refresh(check, s, "host_images", d.refresh_seconds)
    quotas = dict(d.quotas) | dict(parse_quotas(check, s.get("quotas"), "host_images.quotas"))
    return HostImagesSettings(every, age, tuple(sorted(quotas.items())))


def parse(
    data: Any,
    *,
    source: str = "config",
    env: Mapping[str, str] | None = None,
    base_dir: Path | None = None,
) -> Config:
    """Validate already-decoded YAML ``data``; raise ConfigError listing every problem."""
    env = os.environ if env is None else env
    check = Checker(source)
    if data is not None and not isinstance(data, Mapping):
        check.fail(
            "(top level)",
            f"must be a mapping with ucloud, collect and accounts, got {kind_of(data)}",
        )
        raise ConfigError(check.problems)
    top = check.mapping(
        data, "", ("ucloud", "collect", "uhub", "docker_images", "host_images", "accounts")
    )
    if data is None:
        check.fail("accounts", "missing: the file is empty")
    ucloud = _ucloud(check, top.get("ucloud"), env, internal=_all_instance_roles(top))
    config = Config(
        ucloud=ucloud,
        collect=_collect(check, top.get("collect")),
        uhub=_uhub(check, top.get("uhub")),
        docker_images=_docker_images(check, top.get("docker_images")),
        host_images=_host_images(check, top.get("host_images")),
        accounts=parse_accounts(
            check,
            top.get("accounts"),
            env,
            base_dir or Path.cwd(),
            base_url=ucloud.base_url,
            metadata_url=ucloud.metadata_url,
        )
        if data is not None
        else (),
    )
    if check.problems:
        raise ConfigError(check.problems)
    return config


def _all_instance_roles(top: Mapping[str, Any]) -> bool:
    """Return whether every account (there is one at least) sets ``instance_role``."""
    accounts = top.get("accounts")
    return (
        isinstance(accounts, list)
        and bool(accounts)
        and all(
            isinstance(a, Mapping) and a.get("instance_role") not in (None, False) for a in accounts
        )
    )


def load(path: str | Path, *, env: Mapping[str, str] | None = None) -> Config:
    """Read and validate the YAML file at ``path``; key files are relative to it."""
    p = Path(path)
    data = load_yaml(p, what="config file", limit=MAX_CONFIG_BYTES)
    return parse(data, source=str(p), env=env, base_dir=p.parent)
