"""Profiles of ucloud-cli's shared files: ``~/.ucloud/credential.json`` and ``config.json``.

The format and its reading follow ucloud-sdk-go (``external/shared_config.go``,
``external/env_config.go``):

- each file is a JSON list with one object per profile, ``profile`` naming it. The
  credential file's objects hold ``public_key`` and ``private_key``; the config file's hold
  ``project_id``, ``region``, ``zone``, ``base_url``, ``timeout_sec`` and ``active``;
- the files are ``UCLOUD_SHARED_CREDENTIAL_FILE`` and ``UCLOUD_SHARED_CONFIG_FILE``, else
  ``credential.json`` and ``config.json`` under ``$HOME/.ucloud/``; a leading ``~/`` is HOME;
- a missing *default* config file means an empty one (the SDK skips it); a file named by its
  variable must exist. The profile must be in the credential file, with both keys; it may be
  absent from the config file (then no project, region or gateway come from it);
- an entry of the wrong type fails the file, as Go's ``json.Unmarshal`` does; of several
  entries with one name, the last wins (the SDK's loop); unknown fields are ignored.

Files are read with :func:`exporter.validation.read_small_file` (regular files only, never
blocking, at most 256 KiB). Problems are one line each, naming the file, never a key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from exporter.secret import Secret
from exporter.validation import read_small_file

__all__ = ["MAX_SHARED_FILE_BYTES", "Profile", "ProfileError", "load_profile", "shared_files"]

MAX_SHARED_FILE_BYTES = 256 * 1024  # ucloud-cli writes a few hundred bytes per profile

_CREDENTIAL_FIELDS: dict[str, type] = {"profile": str, "public_key": str, "private_key": str}
_CONFIG_FIELDS: dict[str, type] = {
    "profile": str,
    "project_id": str,
    "region": str,
    "zone": str,
    "base_url": str,
    "timeout_sec": int,
    "active": bool,
}


class ProfileError(Exception):
    """A profile cannot be used; ``problems`` holds one line each (no key in any of them)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass(frozen=True)
class Profile:
    """What one profile gives an account: its key pair, and its settings (empty: unset)."""

    name: str
    credential_file: Path
    config_file: Path
    public_key: str
    private_key: Secret = field(repr=False)
    project_id: str = ""
    region: str = ""
    base_url: str = ""


def shared_files(env: Mapping[str, str]) -> tuple[Path, bool, Path, bool]:
    """Return (credential file, named by env?, config file, named by env?) for ``env``."""
    home = env.get("HOME") or str(Path.home())

    def where(var: str, default: str) -> tuple[Path, bool]:
        named = env.get(var) or ""
        if not named:
            return Path(home, ".ucloud", default), False
        if named == "~" or named.startswith("~/"):
            named = home + named[1:]
        return Path(named), True

    credential, credential_named = where("UCLOUD_SHARED_CREDENTIAL_FILE", "credential.json")
    cfg, cfg_named = where("UCLOUD_SHARED_CONFIG_FILE", "config.json")
    return credential, credential_named, cfg, cfg_named


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, list) else "an object"


def _read_json(path: Path, *, may_be_absent: bool, problems: list[str]) -> Any:
    """Return a shared file's JSON ([] when absent and allowed); None (and a problem) if not."""
    where = repr(str(path))
    problem = None
    try:
        return json.loads(read_small_file(path, limit=MAX_SHARED_FILE_BYTES).decode("utf-8"))
    except FileNotFoundError:
        if may_be_absent:
            return []
        problem = f"cannot read {where}: No such file or directory"
    except OSError as exc:
        problem = f"cannot read {where}: {exc.strerror or type(exc).__name__}"
    except UnicodeDecodeError as exc:
        problem = f"cannot read {where}: not UTF-8 text ({exc.reason})"
    except json.JSONDecodeError as exc:  # its msg names the syntax, never the text
        problem = f"{where}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
    except RecursionError:
        problem = f"{where}: invalid JSON: nested too deeply"
    problems.append(problem)
    return None


def _entries(
    path: Path, fields: Mapping[str, type], *, may_be_absent: bool, problems: list[str]
) -> list[Mapping[str, Any]] | None:
    """Read one shared file into its entries; None (and problems) when it is unusable."""
    data = _read_json(path, may_be_absent=may_be_absent, problems=problems)
    where = repr(str(path))
    if data is None:
        return None
    if not isinstance(data, list):
        problems.append(f"{where}: must be a JSON list of profiles, got {_json_kind(data)}")
        return None
    before = len(problems)
    for i, entry in enumerate(data):
        if not isinstance(entry, dict):
            problems.append(f"{where}: entry {i}: must be an object, got {_json_kind(entry)}")
            continue
        for key, kind in fields.items():
            got = entry.get(key)
            if got is not None and (
                not isinstance(got, kind) or (kind is int and isinstance(got, bool))
            ):
                wanted = {str: "a string", int: "a whole number", bool: "true or false"}[kind]
                problems.append(
                    f"{where}: entry {i}: {key} must be {wanted}, got {_json_kind(got)}"
                )
    return None if len(problems) > before else data


def _last(entries: list[Mapping[str, Any]], name: str) -> Mapping[str, Any] | None:
    """Return the last entry for profile ``name`` (the SDK's loop keeps the last match)."""
    found = None
    for entry in entries:
        if entry.get("profile") == name:
            found = entry
    return found


def load_profile(name: str, env: Mapping[str, str]) -> Profile:
    """Read profile ``name`` from the shared files ``env`` points at; raise ProfileError."""
    credential, credential_named, cfg, cfg_named = shared_files(env)
    problems: list[str] = []
    creds = _entries(credential, _CREDENTIAL_FIELDS, may_be_absent=False, problems=problems)
    configs = _entries(cfg, _CONFIG_FIELDS, may_be_absent=not cfg_named, problems=problems)
    del credential_named  # a missing credential file is an error either way: no keys
    cred = _last(creds, name) if creds is not None else None
    if creds is not None and cred is None:
        problems.append(f"profile {name!r} is not in {str(credential)!r}")
    for key in ("public_key", "private_key"):
        if cred is not None and not str(cred.get(key) or "").strip():
            problems.append(f"profile {name!r} in {str(credential)!r} has no {key}")
    if problems or cred is None or configs is None:
        raise ProfileError(problems)
    settings = _last(configs, name) or {}
    return Profile(
        name=name,
        credential_file=credential,
        config_file=cfg,
        public_key=str(cred["public_key"]).strip(),
        private_key=Secret(str(cred["private_key"]).strip()),
        project_id=str(settings.get("project_id") or "").strip(),
        region=str(settings.get("region") or "").strip(),
        base_url=str(settings.get("base_url") or "").strip(),
    )
