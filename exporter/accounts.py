"""The ``accounts:`` section of the configuration: key pairs, regions and filters per account."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from exporter.credentials import (
    DEFAULT_METADATA_URL,
    AssumeRole,
    InstanceRole,
    Profile,
    ProfileError,
    load_profile,
)
from exporter.credentials.settings import ROLE_KEYS, parse_assume_role, parse_instance_role
from exporter.secret import Secret
from exporter.validation import (
    EVERY_NAME,
    Checker,
    NameFilter,
    kind_of,
    name_filter,
    read_small_file,
)

__all__ = ["BUCKET_TYPES", "Account", "parse_accounts", "parse_quotas"]

BUCKET_TYPES = ("All", "User", "Share")
MAX_KEY_FILE_BYTES = 64 * 1024  # API keys are short: refuse anything else
_REGION_RE = re.compile(r"^[a-z][a-z0-9-]{0,63}$")
_NAME_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_PROJECT_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


@dataclass(frozen=True)
class Account:
    """One UCloud account (key pair) and the regions to list for it."""

    name: str
    public_key: str
    private_key: Secret = field(repr=False)
    #: the one project written as ``project_id: ID`` (or from a profile or the environment)
    project_id: str | None
    regions: tuple[str, ...]  # empty when discovered (``regions: auto``)
    bucket_type: str = "All"
    bucket_name: str = ""
    discover_regions: bool = False
    max_requests_per_second: float | None = None  # None: no rate limit (only AIMD)
    uhub: bool = False  # also list the account's UHub registry (in the background)
    #: the projects of ``project_id: [a, b]`` (a list); empty otherwise
    project_list: tuple[str, ...] = ()
    discover_projects: bool = False  # ``project_id: auto``: every project GetProjectList shows
    #: where the keys came from, for --config.check: "static", "env", "profile NAME (FILE)",
    #: or several joined by "+" when the two keys came from different places
    credential_source: str = "static"
    #: temporary keys: from the instance metadata service (then no key pair above), and/or
    #: from STS AssumeRole signed with the account's other keys (exporter.keybook fetches them)
    instance_role: InstanceRole | None = None
    assume_role: AssumeRole | None = None
    docker_images: bool = False  # list the images inside each bucket (in the background)
    host_images: bool = False  # list the custom host images of each region (in the background)
    #: custom host image quotas of this account, by region, over ``host_images.quotas``
    host_image_quotas: tuple[tuple[str, int], ...] = ()
    #: which buckets get per-bucket series and have their images listed (all by default)
    buckets: NameFilter = EVERY_NAME
    #: which images inside buckets get series (all by default)
    images: NameFilter = EVERY_NAME

    @property
    def key_source(self) -> tuple[object, ...]:
        """Return where the account's keys come from: its key pair and its temporary-key
        settings. Equal across a reload: the same keys (so the same account upstream)."""
        return (self.public_key, self.private_key, self.instance_role, self.assume_role)

    @property
    def projects(self) -> tuple[str, ...]:
        """Return the configured projects: the list, or the one ``project_id``; empty when
        they are discovered (``auto``) or none is set (the key's default project)."""
        if self.project_list:
            return self.project_list
        return (self.project_id,) if self.project_id else ()


_ACCOUNT_KEYS = (
    "name",
    "public_key",
    "public_key_file",
    "private_key",
    "private_key_file",
    "profile",
    "project_id",
    "regions",
    "bucket_type",
    "bucket_name",
    "max_requests_per_second",
    "uhub",
    "docker_images",
    "host_images",
    "host_image_quotas",
    "buckets",
    "images",
    *ROLE_KEYS,
)


def _key(
    check: Checker,
    a: Mapping[str, Any],
    path: str,
    which: str,
    *,
    env: Mapping[str, str],
    base: Path,
    profile: Profile | None,
    quiet: bool,
) -> tuple[str, str] | None:
    """Read ``<which>_key`` from inline, ``<which>_key_file``, the profile or the environment;
    return it and its source. ``quiet``: a missing key is not reported (the profile was)."""
    inline = check.string(a, path, f"{which}_key")
    file_ = check.string(a, path, f"{which}_key_file")
    if (
        inline is None
        and file_ is None
        and any(a.get(k) is not None for k in (f"{which}_key", f"{which}_key_file"))
    ):
        return None  # set, but not a string: reported once already
    if inline is not None and file_ is not None:
        check.fail(path, f"set only one of {which}_key and {which}_key_file")
        return None
    if file_ is not None:
        return _key_file(check, f"{path}.{which}_key_file", base / Path(file_).expanduser())
    return _key_elsewhere(check, path, which, inline, env=env, profile=profile, quiet=quiet)


def _key_elsewhere(
    check: Checker,
    path: str,
    which: str,
    inline: str | None,
    *,
    env: Mapping[str, str],
    profile: Profile | None,
    quiet: bool,
) -> tuple[str, str] | None:
    """The key without a key file: inline, else the profile's, else the environment's."""
    if inline is not None and inline.strip():
        return inline.strip(), "static"
    if profile is not None:
        value = profile.public_key if which == "public" else profile.private_key.reveal()
        return value, f"profile {profile.name} ({profile.credential_file})"
    found = (env.get(f"UCLOUD_{which.upper()}_KEY") or "").strip()
    if inline is None and found:
        return found, "env"
    if quiet:
        return None
    check.fail(
        f"{path}.{which}_key",
        f"missing: set {which}_key, {which}_key_file, profile, env UCLOUD_PROFILE "
        f"or env UCLOUD_{which.upper()}_KEY",
    )
    return None


def _key_file(check: Checker, path: str, p: Path) -> tuple[str, str] | None:
    """Read a key file (whitespace stripped); report a problem at ``path`` if unusable."""
    try:
        value = read_small_file(p, limit=MAX_KEY_FILE_BYTES).decode("utf-8").strip()
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not a readable UTF-8 text file"
        check.fail(path, f"cannot read {str(p)!r}: {reason}")
        return None
    if not value:
        check.fail(path, f"file {str(p)!r} is empty")
        return None
    return value, "static"


def _projects(
    check: Checker, a: Mapping[str, Any], path: str, fallback: str | None
) -> tuple[str | None, tuple[str, ...]]:
    """Return (``project_id`` as written, or ``auto``; the list of ``project_id: [a, b]``).

    A single id falls back to ``fallback`` (the profile's, else env ``UCLOUD_PROJECT_ID``).
    """
    value = a.get("project_id")
    if not isinstance(value, list):
        single = check.string(a, path, "project_id", fallback)
        single = single.strip() if single is not None else None
        if single and not _PROJECT_RE.match(single):
            where = f"{path}.project_id" if value is not None else f"{path} (its profile or env)"
            check.fail(
                where, f"must be a project id like org-abc123, a list, or auto; got {single!r}"
            )
            return None, ()
        return single or None, ()
    if not value:
        check.fail(f"{path}.project_id", "must be a non-empty list of project ids, or auto")
        return None, ()
    projects: list[str] = []
    for i, p in enumerate(value):
        if not isinstance(p, str) or not _PROJECT_RE.match(p) or p == "auto":
            check.fail(
                f"{path}.project_id[{i}]", f"must be a project id like org-abc123, got {p!r}"
            )
        elif p in projects:
            check.fail(f"{path}.project_id[{i}]", f"duplicate project {p!r}")
        else:
            projects.append(p)
    return None, tuple(projects)


def _regions(
    check: Checker, a: Mapping[str, Any], path: str, fallback: tuple[str, str] | None
) -> tuple[str, ...] | None:
    """Return the listed regions, None for ``auto`` (discovery), () when invalid.

    ``fallback`` is (region, where it came from) for an account without ``regions``: its
    profile's region, else env ``UCLOUD_REGION``; one region, so one target.
    """
    value = a.get("regions")
    if value == "auto":
        return None
    if value is None and fallback is not None:
        return _fallback_region(check, path, fallback)
    if value is None:
        check.fail(
            f"{path}.regions",
            "must be a non-empty list of region ids, or auto (or come from a profile's region "
            "or env UCLOUD_REGION)",
        )
        return ()
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


def _profile(
    check: Checker, a: Mapping[str, Any], path: str, env: Mapping[str, str], base_url: str
) -> tuple[bool, Profile | None]:
    """Return (whether the account uses a profile, the profile if it is usable).

    The account's ``profile``; else, for an account setting neither key (nor key file),
    env ``UCLOUD_PROFILE``. Problems are reported at ``<path>.profile``.
    """
    name = a.get("profile")
    if name is None and not any(a.get(k) is not None for k in _KEY_KEYS):
        name = env.get("UCLOUD_PROFILE") or None
    if name is None:
        return False, None
    problems: list[str] = []
    profile = None
    if not isinstance(name, str):
        problems.append(f"must be a string, got {kind_of(name)}")
    elif not name.strip():
        problems.append(f"must be a profile name, got {name!r}")
    else:
        try:
            profile = load_profile(name, env)
        except ProfileError as exc:
            problems += exc.problems
    if profile is not None and profile.base_url.rstrip("/") not in ("", base_url.rstrip("/")):
        problems.append(
            f"profile {name!r} in {str(profile.config_file)!r} has base_url "
            f"{profile.base_url!r}, not ucloud.base_url {base_url!r} (one gateway for all "
            "accounts: set ucloud.base_url, or remove it from the profile)"
        )
    for problem in problems:
        check.fail(f"{path}.profile", problem)
    return True, None if problems else profile


def _fallback_region(check: Checker, path: str, fallback: tuple[str, str]) -> tuple[str, ...]:
    """The one region of an account without ``regions``, from ``_default_region``."""
    region, where = fallback
    if not region:  # reported already
        return ()
    if not _REGION_RE.match(region):
        check.fail(f"{path}.regions", f"{where} is {region!r}, not a region id like cn-bj2")
        return ()
    return (region,)


def _default_region(
    check: Checker, a: Mapping[str, Any], path: str, profile: Profile | None, env: Mapping[str, str]
) -> tuple[str, str] | None:
    """Return (region, its source) for an account without ``regions``: the profile's region,
    else env ``UCLOUD_REGION``; None when neither; ("", "") when the profile's is not a region
    id (reported here, at ``<path>.profile``)."""
    if a.get("regions") is not None:
        return None
    if profile is not None and profile.region:
        if not _REGION_RE.match(profile.region):
            check.fail(
                f"{path}.profile",
                f"profile {profile.name!r} in {str(profile.config_file)!r} has region "
                f"{profile.region!r}, not a region id like cn-bj2",
            )
            return ("", "")
        return profile.region, "profile"
    region = env.get("UCLOUD_REGION") or ""
    return (region, "env UCLOUD_REGION") if region else None


_KEY_KEYS = ("public_key", "public_key_file", "private_key", "private_key_file")


def _account(
    check: Checker,
    raw: Any,
    path: str,
    env: Mapping[str, str],
    base: Path,
    *,
    base_url: str,
    metadata_url: str = DEFAULT_METADATA_URL,
) -> Account | None:
    if not isinstance(raw, Mapping):
        check.fail(path, f"must be a mapping, got {kind_of(raw)}")
        return None
    a = check.mapping(raw, path, _ACCOUNT_KEYS)
    name = check.string(a, path, "name")
    if name is None:
        check.fail(f"{path}.name", "missing: every account needs a name (the account label)")
    elif not _NAME_RE.match(name):
        check.fail(f"{path}.name", f"must be 1-64 characters of A-Z a-z 0-9 _ . : -, got {name!r}")
    instance = parse_instance_role(check, a, path, metadata_url=metadata_url)
    assume = parse_assume_role(check, a, path)
    if a.get("instance_role") not in (None, False):  # keys from the metadata service only
        _no_keys_beside_instance_role(check, a, path)
        profile, broken = None, False
        public_key = private_key = None
        source = instance.describe() if instance is not None else "instance_role"
    else:
        has_profile, profile = _profile(check, a, path, env, base_url)
        broken = has_profile and profile is None  # reported at .profile: no "missing key" too
        keys = {
            which: _key(check, a, path, which, env=env, base=base, profile=profile, quiet=broken)
            for which in ("public", "private")
        }
        public_key, private_key = (k[0] if k else None for k in keys.values())
        source = "+".join(dict.fromkeys(k[1] for k in keys.values() if k))
    if assume is not None:
        source = assume.describe(source)
    project_id, project_list = _projects(
        check,
        a,
        path,
        (profile.project_id if profile is not None else "") or env.get("UCLOUD_PROJECT_ID") or None,
    )
    if broken:
        regions = _regions(check, a, path, None) if a.get("regions") is not None else ()
    else:
        regions = _regions(check, a, path, _default_region(check, a, path, profile, env))
    bucket_type = check.string(a, path, "bucket_type", "All")
    if bucket_type not in BUCKET_TYPES:
        check.fail(
            f"{path}.bucket_type", f"must be one of {', '.join(BUCKET_TYPES)}, got {bucket_type!r}"
        )
    bucket_name = check.string(a, path, "bucket_name", "") or ""
    rate = a.get("max_requests_per_second")
    if rate is not None:
        rate = check.number(
            a, path, "max_requests_per_second", 0.0, low=0.01, high=10_000, integer=False
        )
    uhub = check.boolean(a, path, "uhub", False)
    docker_images = check.boolean(a, path, "docker_images", False)
    host_images = check.boolean(a, path, "host_images", False)
    quotas = parse_quotas(check, a.get("host_image_quotas"), f"{path}.host_image_quotas")
    buckets = name_filter(check, a, path, "buckets")
    images = name_filter(check, a, path, "images")
    keyed = instance is not None or bool(public_key and private_key)
    if not (name and keyed and regions != () and bucket_type in BUCKET_TYPES):
        return None
    return Account(
        name=name,
        public_key=public_key or "",  # none with instance_role: its keys are fetched
        private_key=Secret(private_key or ""),
        project_id=None if project_id == "auto" else project_id or None,
        project_list=project_list,
        discover_projects=project_id == "auto",
        regions=regions or (),
        bucket_type=str(bucket_type),
        bucket_name=bucket_name,
        discover_regions=regions is None,
        max_requests_per_second=float(rate) if rate else None,
        uhub=uhub,
        docker_images=docker_images,
        host_images=host_images,
        host_image_quotas=quotas,
        buckets=buckets,
        images=images,
        credential_source=source,
        instance_role=instance,
        assume_role=assume,
    )


def parse_quotas(check: Checker, raw: Any, path: str) -> tuple[tuple[str, int], ...]:
    """Read ``{REGION: N}`` (custom host image quotas), sorted by region."""
    if raw is None:
        return ()
    if not isinstance(raw, Mapping):
        check.fail(
            path, f"must be a mapping of region id to a number of images, got {kind_of(raw)}"
        )
        return ()
    out: dict[str, int] = {}
    for region, n in raw.items():
        if not isinstance(region, str) or not _REGION_RE.match(region):
            check.fail(f"{path}.{region}", f"must be a region id like cn-bj2, got {region!r}")
        elif isinstance(n, bool) or not isinstance(n, int) or not 0 < n <= 1_000_000:
            check.fail(f"{path}.{region}", f"must be a whole number of images from 1, got {n!r}")
        else:
            out[region] = n
    return tuple(sorted(out.items()))


def _no_keys_beside_instance_role(check: Checker, a: Mapping[str, Any], path: str) -> None:
    """An account with instance_role gets its keys from the metadata service only."""
    if any(a.get(k) is not None for k in (*_KEY_KEYS, "profile")):
        check.fail(
            f"{path}.instance_role",
            "set either instance_role or keys (public_key, private_key, their files, profile), "
            "not both",
        )


def parse_accounts(
    check: Checker,
    raw: Any,
    env: Mapping[str, str],
    base: Path,
    *,
    base_url: str,
    metadata_url: str = DEFAULT_METADATA_URL,
) -> tuple[Account, ...]:
    """Read the ``accounts:`` section; ``base_url`` is ``ucloud.base_url`` (a profile's
    ``base_url`` must be the same gateway), ``metadata_url`` ``ucloud.metadata_url``."""
    if not isinstance(raw, list) or not raw:
        check.fail("accounts", "must be a non-empty list of accounts")
        return ()
    out: list[Account] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        acc = _account(
            check, item, f"accounts[{i}]", env, base, base_url=base_url, metadata_url=metadata_url
        )
        name = item.get("name") if isinstance(item, Mapping) else None
        if isinstance(name, str) and name in seen:  # also when the entry has other problems
            check.fail(f"accounts[{i}].name", f"duplicate account name {name!r}")
            continue
        if isinstance(name, str):
            seen.add(name)
        if acc is not None:
            out.append(acc)
    return tuple(out)
