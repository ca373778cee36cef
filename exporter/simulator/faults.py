"""Fault knobs: make the simulated gateway fail in controlled ways."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from exporter.simulator.model import Quirks

__all__ = ["Fault", "FaultBook"]


@dataclass
class Fault:
    """One way to misbehave; the first effect set wins in the order listed below.

    ``close_connection`` drops the socket without a response, ``http_status`` answers that
    status, ``body`` sends raw bytes with status 200, ``retcode`` answers a gateway error and
    ``mutate`` rewrites the successful JSON response, which ``quirks`` (instead of the region's
    own; for the cross-region UHub actions the only ones) shaped, their ``delay_seconds``
    waited first. ``delay`` is added before any of them.
    """

    retcode: int | None = None
    message: str = "simulated failure"
    http_status: int | None = None
    body: bytes | None = None
    delay: float = 0.0
    mutate: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    times: int | None = None
    close_connection: bool = False
    quirks: Quirks | None = None

    def __post_init__(self) -> None:
        """Reject negative delays and counts."""
        if self.delay < 0:
            raise ValueError("delay must be >= 0")
        if self.times is not None and self.times < 0:
            raise ValueError("times must be >= 0 or None")


@dataclass(eq=False)
class _Rule:
    """A fault plus the requests it applies to and its remaining uses."""

    fault: Fault
    account: str | None
    region: str | None
    action: str | None
    remaining: int | None

    def matches(self, account: str | None, region: str | None, action: str | None) -> bool:
        """Tell whether this live rule covers a request."""
        return (
            (self.remaining is None or self.remaining > 0)
            and (self.account is None or self.account == account)
            and (self.region is None or self.region == region)
            and (self.action is None or self.action == action)
        )


class FaultBook:
    """Thread-safe, ordered list of fault rules."""

    def __init__(self) -> None:
        """Start with no faults."""
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []

    def add(
        self,
        fault: Fault,
        *,
        account: str | None = None,
        region: str | None = None,
        action: str | None = None,
    ) -> None:
        """Append a rule; earlier rules take precedence."""
        with self._lock:
            self._rules.append(_Rule(fault, account, region, action, fault.times))

    def clear(self) -> None:
        """Remove every rule."""
        with self._lock:
            self._rules.clear()

    def peek(self, account: str | None, region: str | None, action: str | None) -> Fault | None:
        """Return the first matching live fault without using it up."""
        with self._lock:
            rule = self._first(account, region, action)
            return None if rule is None else rule.fault

    def take(self, account: str | None, region: str | None, action: str | None) -> Fault | None:
        """Return the first matching live fault and use up one of its applications."""
        with self._lock:
            rule = self._first(account, region, action)
            if rule is None:
                return None
            if rule.remaining is not None:
                rule.remaining -= 1
                if rule.remaining == 0:
                    self._rules.remove(rule)
            return rule.fault

    def _first(self, account: str | None, region: str | None, action: str | None) -> _Rule | None:
        """Find the first live rule covering a request (lock held)."""
        return next((r for r in self._rules if r.matches(account, region, action)), None)
