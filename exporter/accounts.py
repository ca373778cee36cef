"""The ``accounts:`` section of the configuration: key pairs, regions and filters per account."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from exporter.secret import Secret
from exporter.validation import Checker, kind_of, read_small_file

__all__ = ["BUCKET_TYPES", "Account", "parse_accounts"]

BUCKET_TYPES = ("All", "User", "Share")
MAX_KEY_FILE_BYTES = 64 * 1024  # API keys are short: refuse anything else
_REGION_RE = re.compile(r"^[a-z][a-z0-9-]{0,63}$")
_NAME_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


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
    max_requests_per_second: float | None = None  # None: no rate limit (only AIMD)
    uhub: bool = False  # also list the account's UHub registry (in the background)


_ACCOUNT_KEYS = (
    "name",
    "public_key",
    "public_key_file",
    "private_key",
    "private_key_file",
    "project_id",
    "regions",
    "bucket_type",
    "bucket_name",
    "max_requests_per_second",
    "uhub",
)


def _key(
    check: Checker,
    a: Mapping[str, Any],
    path: str,
    which: str,
    *,
    env: Mapping[str, str],
    base: Path,
) -> str | None:
    """Read ``<which>_key`` from inline, ``<which>_key_file`` or the environment."""
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
        check.fail(
            f"{path}.{which}_key",
            f"missing: set {which}_key, {which}_key_file or env UCLOUD_{which.upper()}_KEY",
        )
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


def _account(
    check: Checker, raw: Any, path: str, env: Mapping[str, str], base: Path
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
    public_key = _key(check, a, path, "public", env=env, base=base)
    private_key = _key(check, a, path, "private", env=env, base=base)
    project_id = check.string(a, path, "project_id", env.get("UCLOUD_PROJECT_ID") or None)
    regions = _regions(check, a, path)
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
    if not (name and public_key and private_key and regions != () and bucket_type in BUCKET_TYPES):
        return None
    return Account(
        name=name,
        public_key=public_key,
        private_key=Secret(private_key),
        project_id=project_id or None,
        regions=regions or (),
        bucket_type=str(bucket_type),
        bucket_name=bucket_name,
        discover_regions=regions is None,
        max_requests_per_second=float(rate) if rate else None,
        uhub=uhub,
    )


def parse_accounts(
    check: Checker, raw: Any, env: Mapping[str, str], base: Path
) -> tuple[Account, ...]:
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
