"""Fleet files: a simulated fleet, odd gateway behaviour included, written as YAML.

``python -m exporter.simulator --fleet-file hostile.yaml`` serves a file like::

    accounts:
      - public_key: hostile-public-key
        private_key: hostile-private-key
        projects: [org-hostile]          # ProjectIds the account accepts (optional)
        throttle: {per_second: 30, burst: 15}  # RetCode 153 beyond that rate (optional)
        regions:
          cn-bj2:
            buckets:                     # listed one by one; every field but name optional
              - {name: "bad\\ud800name", type: Private, images: 3, created: 1600000000}
          cn-sh2:
            synthetic: 50000             # generated buckets: bucket-00001, ...
            quirks: {ignore_offset: true, ignore_limit: true}
          hk:
            synthetic: 5
            quirks: {total_count: 100000}

``quirks`` takes the fields of :class:`~exporter.simulator.model.Quirks`. A mistake raises
``ValueError`` naming its key path.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from exporter.simulator.fleet import FIXED_EPOCH
from exporter.simulator.model import Account, Bucket, Fleet, Quirks

__all__ = ["fleet_from_dict", "load_fleet"]

_QUIRK_FIELDS = {f.name: f for f in dataclasses.fields(Quirks)}


def load_fleet(path: str | Path) -> Fleet:
    """Read a fleet file."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: cannot read the fleet file: {exc}") from exc
    return fleet_from_dict(data, source=str(path))


def fleet_from_dict(data: Any, *, source: str = "fleet") -> Fleet:
    """Build a fleet from the parsed contents of a fleet file."""
    accounts = _mapping(data, source).get("accounts")
    if not isinstance(accounts, list) or not accounts:
        raise ValueError(f"{source}: accounts: must be a non-empty list")
    return Fleet(_account(a, f"{source}: accounts[{i}]") for i, a in enumerate(accounts))


def _account(raw: Any, path: str) -> Account:
    a = _mapping(raw, path)
    keys = [a.get("public_key"), a.get("private_key")]
    if not all(isinstance(k, str) and k for k in keys):
        raise ValueError(f"{path}: public_key and private_key must be non-empty strings")
    account = Account(str(keys[0]), str(keys[1]), {str(p) for p in a.get("projects") or []})
    if "throttle" in a:
        account.throttle = _throttle(a["throttle"], f"{path}.throttle")
    for region, spec in _mapping(a.get("regions"), f"{path}.regions").items():
        where = f"{path}.regions.{region}"
        r = _mapping(spec or {}, where)
        account.regions[str(region)] = _buckets(r, where)
        if "quirks" in r:
            account.quirks[str(region)] = _quirks(r["quirks"], f"{where}.quirks")
    return account


def _buckets(r: Mapping[str, Any], path: str) -> list[Bucket]:
    synthetic = r.get("synthetic", 0)
    if isinstance(synthetic, bool) or not isinstance(synthetic, int) or synthetic < 0:
        raise ValueError(f"{path}.synthetic: must be a non-negative integer")
    buckets = [
        Bucket(f"bucket-{i:05d}", "Private" if i % 5 else "Public", i % 50, FIXED_EPOCH - i)
        for i in range(1, synthetic + 1)
    ]
    listed = r.get("buckets") or []
    if not isinstance(listed, list):
        raise ValueError(f"{path}.buckets: must be a list")
    for i, raw in enumerate(listed):
        b = _mapping(raw, f"{path}.buckets[{i}]")
        if not isinstance(b.get("name"), str):
            raise ValueError(f"{path}.buckets[{i}].name: must be a string")
        buckets.append(
            Bucket(
                b["name"],
                str(b.get("type", "Private")),
                int(b.get("images", 0)),
                int(b.get("created", FIXED_EPOCH)),
            )
        )
    return buckets


def _throttle(raw: Any, path: str) -> tuple[float, float]:
    t = _mapping(raw, path)
    rate, burst = t.get("per_second"), t.get("burst", 1)
    for name, value in (("per_second", rate), ("burst", burst)):
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ValueError(f"{path}.{name}: must be a positive number")
    return float(rate), float(burst)  # type: ignore[arg-type]


def _quirks(raw: Any, path: str) -> Quirks:
    q = dict(_mapping(raw, path))
    unknown = sorted(set(q) - set(_QUIRK_FIELDS))
    if unknown:
        raise ValueError(f"{path}.{unknown[0]}: unknown quirk (known: {', '.join(_QUIRK_FIELDS)})")
    if "omit_fields" in q:
        q["omit_fields"] = tuple(q["omit_fields"] or ())
    try:
        return Quirks(**q)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: {exc}") from exc


def _mapping(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{path}: must be a mapping")
    return value
