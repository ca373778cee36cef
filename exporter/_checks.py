"""Validation helpers shared by the configuration files: problems gathered, secrets hidden."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


class ConfigError(Exception):
    """The configuration is invalid; ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class Secret:
    """A string that never shows itself in ``repr`` or ``str``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """Return the secret value."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class _Checker:
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
            self.fail(path, f"must be a mapping, got {_kind(value)}")
            return {}
        for key in value:
            if key not in allowed:
                self.fail(f"{path}.{key}" if path else str(key),
                          f"unknown key (allowed: {', '.join(allowed)})")
        return value

    def number(self, section: Mapping[str, Any], path: str, key: str, default: float, *,
               low: float, high: float, integer: bool) -> Any:
        """Read a number within [low, high]."""
        value = section.get(key, default)
        ok_type = isinstance(value, int) if integer else isinstance(value, int | float)
        if isinstance(value, bool) or not ok_type or not low <= value <= high:
            kind, lo, hi = ("an integer", f"{int(low)}", f"{int(high)}") if integer else (
                "a number", f"{low:g}", f"{high:g}")
            self.fail(f"{path}.{key}", f"must be {kind} between {lo} and {hi}, got {value!r}")
            return default
        return value

    def string(self, section: Mapping[str, Any], path: str, key: str,
               default: str | None = None) -> str | None:
        """Read an optional string."""
        value = section.get(key, default)
        if value is None or isinstance(value, str):
            return value
        self.fail(f"{path}.{key}", f"must be a string, got {_kind(value)}")
        return default

    def patterns(self, section: Mapping[str, Any], path: str,
                 key: str) -> tuple[re.Pattern[str], ...]:
        """Read a list of regular expressions."""
        value = section.get(key) or []
        if not isinstance(value, list):
            self.fail(f"{path}.{key}", f"must be a list of regexes, got {_kind(value)}")
            return ()
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, str):
                self.fail(f"{path}.{key}[{i}]", f"must be a string, got {_kind(item)}")
                continue
            try:
                out.append(re.compile(item))
            except re.error as exc:
                self.fail(f"{path}.{key}[{i}]", f"invalid regex {item!r}: {exc}")
        return tuple(out)


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__
