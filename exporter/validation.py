"""What the configuration files share: safe reading, YAML, and problems gathered with key paths.

``--config.file`` (exporter.config) and ``--web.config.file`` (exporter.web.webconfig) are read
the same way: files must be regular files of bounded size, read without blocking (a FIFO or a
device is a one-line error, not a hang), YAML errors name line and column, and a
:class:`Checker` gathers every problem, one line each, before anything is raised.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


class ConfigError(Exception):
    """The configuration is invalid; ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class Checker:
    """Collect problems while reading a YAML mapping."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[str] = []

    def fail(self, path: str, message: str) -> None:
        """Record one problem at ``path``, control characters escaped to keep it one line."""
        line = f"{self.source}: {path}: {message}"
        self.problems.append(_CONTROL.sub(lambda m: repr(m.group())[1:-1], line))

    def mapping(self, value: Any, path: str, allowed: tuple[str, ...]) -> Mapping[str, Any]:
        """Return ``value`` as a mapping, reporting wrong types and unknown keys."""
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.fail(path, f"must be a mapping, got {kind_of(value)}")
            return {}
        for key in value:
            if key not in allowed:
                self.fail(
                    f"{path}.{key}" if path else str(key),
                    f"unknown key (allowed: {', '.join(allowed)})",
                )
        return value

    def number(
        self,
        section: Mapping[str, Any],
        path: str,
        key: str,
        default: float,
        *,
        low: float,
        high: float,
        integer: bool,
    ) -> Any:
        """Read a number within [low, high]."""
        value = section.get(key, default)
        ok_type = isinstance(value, int) if integer else isinstance(value, int | float)
        if isinstance(value, bool) or not ok_type or not low <= value <= high:
            kind, lo, hi = (
                ("an integer", f"{int(low)}", f"{int(high)}")
                if integer
                else ("a number", f"{low:g}", f"{high:g}")
            )
            self.fail(f"{path}.{key}", f"must be {kind} between {lo} and {hi}, got {value!r}")
            return default
        return value

    def boolean(self, section: Mapping[str, Any], path: str, key: str, default: bool) -> bool:
        """Read an optional true/false."""
        value = section.get(key, default)
        if isinstance(value, bool):
            return value
        self.fail(f"{path}.{key}", f"must be true or false, got {value!r}")
        return default

    def string(
        self, section: Mapping[str, Any], path: str, key: str, default: str | None = None
    ) -> str | None:
        """Read an optional string."""
        value = section.get(key, default)
        if value is None or isinstance(value, str):
            return value
        self.fail(f"{path}.{key}", f"must be a string, got {kind_of(value)}")
        return default

    def patterns(
        self, section: Mapping[str, Any], path: str, key: str
    ) -> tuple[re.Pattern[str], ...]:
        """Read a list of regular expressions."""
        value = section.get(key) or []
        if not isinstance(value, list):
            self.fail(f"{path}.{key}", f"must be a list of regexes, got {kind_of(value)}")
            return ()
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, str):
                self.fail(f"{path}.{key}[{i}]", f"must be a string, got {kind_of(item)}")
                continue
            try:
                out.append(re.compile(item))
            except re.error as exc:
                self.fail(f"{path}.{key}[{i}]", f"invalid regex {item!r}: {exc}")
        return tuple(out)


@dataclass(frozen=True)
class NameFilter:
    """``{include: REGEX, exclude: REGEX}``: each fully anchored (like Prometheus relabelling);
    a name is kept when it matches ``include`` (if set) and not ``exclude``."""

    include: re.Pattern[str] | None = None
    exclude: re.Pattern[str] | None = None

    def wants(self, name: str) -> bool:
        """Return whether ``name`` is kept."""
        if self.include is not None and self.include.fullmatch(name) is None:
            return False
        return self.exclude is None or self.exclude.fullmatch(name) is None

    @property
    def everything(self) -> bool:
        """Whether it keeps every name (neither regex set)."""
        return self.include is None and self.exclude is None


#: The filter that keeps every name.
EVERY_NAME = NameFilter()


def name_filter(check: Checker, section: Mapping[str, Any], path: str, key: str) -> NameFilter:
    """Read ``key: {include: REGEX, exclude: REGEX}`` (both optional) from ``section``."""
    raw = section.get(key)
    where = f"{path}.{key}"
    s = check.mapping(raw, where, ("include", "exclude"))
    found: dict[str, re.Pattern[str] | None] = {}
    for which in ("include", "exclude"):
        value = check.string(s, where, which)
        found[which] = None
        if value is None:
            continue
        try:
            found[which] = re.compile(value)
        except re.error as exc:
            check.fail(f"{where}.{which}", f"invalid regex {value!r}: {exc}")
    return NameFilter(found["include"], found["exclude"])


def kind_of(value: Any) -> str:
    """Name a YAML value's type for a problem line (null, str, list, ...)."""
    return "null" if value is None else type(value).__name__


def read_small_file(path: Path, *, limit: int) -> bytes:
    """Return a regular file's bytes; never block on a FIFO or device, refuse > ``limit``.

    Raises OSError with a one-line ``strerror``.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(0, "not a regular file")
        if info.st_size > limit:
            raise OSError(0, f"larger than {limit // 1024} KiB ({info.st_size} bytes)")
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise OSError(0, f"larger than {limit // 1024} KiB")
    return data


def load_yaml(path: Path, *, what: str, limit: int) -> Any:
    """Read and parse a YAML file; raise ConfigError with one line saying what is wrong."""
    try:
        return yaml.safe_load(read_small_file(path, limit=limit).decode("utf-8"))
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read {what}: {exc.strerror or exc}"]) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{path}: cannot read {what}: not UTF-8 text ({exc.reason})"]) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError([f"{path}: invalid YAML{where}: {problem}"]) from exc
    except (ValueError, TypeError, RecursionError) as exc:  # e.g. an impossible date, deep nesting
        raise ConfigError([f"{path}: invalid YAML: {type(exc).__name__}: {exc}"[:300]]) from exc
