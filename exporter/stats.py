"""Counters that live across scrapes (and reloads): API requests and errors, odd entries."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

from exporter.config import Account, Config
from exporter.ucloud import Listing, Observer, Registry

__all__ = ["UHUB_REGION", "Stats"]
#: The region label of UHub's requests, errors and odd entries (UHub has no region).
UHUB_REGION = ""


class Stats:
    """What the counters and last-success gauges show; thread-safe, copied for rendering."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: Counter[tuple[str, ...]] = Counter()  # account, region, action
        self.errors: Counter[tuple[str, ...]] = Counter()  # account, region, action, reason
        self.invalid: Counter[tuple[str, ...]] = Counter()  # account, region, field
        self.inconsistent: Counter[tuple[str, ...]] = Counter()  # account, region, kind
        self.discovery_requests: Counter[tuple[str, ...]] = Counter()  # account
        self.discovery_errors: Counter[tuple[str, ...]] = Counter()  # account, reason
        self.last_success: dict[tuple[str, ...], float] = {}  # account, region
        self.uhub_truncated: Counter[tuple[str, ...]] = Counter()  # account, "", reason
        # The accounts of the configuration in force (None: every target is wanted). A request
        # of a target no longer wanted (an old listing still draining) is not counted.
        self._wanted: dict[str, Account] | None = None

    def observer(self, account: str, region: str | None) -> Observer:
        """Return an Observer that records attempts for a target (``region`` None: GetRegion)."""

        def observe(action: str, reason: str | None) -> None:
            with self._lock:
                if not self._wants((account,) if region is None else (account, region)):
                    return
                if region is None:
                    self.discovery_requests[(account,)] += 1
                    if reason is not None:
                        self.discovery_errors[account, reason] += 1
                    return
                self.requests[account, region, action] += 1
                if reason is not None:
                    self.errors[account, region, action, reason] += 1

        return observe

    def record(self, account: str, region: str, *, ok: bool, listing: Listing | None) -> None:
        """Record a finished target listing (``listing`` is None when it failed)."""
        if listing is not None:
            self.record_oddities(account, region, listing)
        if ok:
            with self._lock:
                if self._wants((account, region)):
                    self.last_success[account, region] = time.time()

    def record_oddities(self, account: str, region: str, listing: Listing | Registry) -> None:
        """Count a listing's malformed fields and paging inconsistencies (UHub's too)."""
        with self._lock:
            if not self._wants((account, region)):
                return
            for name, n in listing.invalid.items():
                self.invalid[account, region, name] += n
            for kind in listing.inconsistencies:
                self.inconsistent[account, region, kind] += 1

    def record_truncation(self, account: str, reason: str) -> None:
        """Count a UHub refresh that kept only part of the registry (``reason``: why)."""
        with self._lock:
            self.uhub_truncated[account, UHUB_REGION, reason] += 1

    def forget_unless(self, config: Config) -> None:
        """Drop everything about accounts and regions a new configuration no longer has, and
        count nothing more of them (their listings may still be draining)."""
        with self._lock:
            self._wanted = {a.name: a for a in config.accounts}
            for table, width in self._tables():
                for key in [k for k in table if not self._wants(k[:width])]:
                    del table[key]

    def _wants(self, target: tuple[str, ...]) -> bool:
        """Return whether the configuration has ``(account,)`` or ``(account, region)``."""
        if self._wanted is None:
            return True
        acc = self._wanted.get(target[0])
        return acc is not None and (
            len(target) == 1
            or acc.discover_regions
            or target[1] in acc.regions
            or (target[1] == UHUB_REGION and acc.uhub)
        )

    def snapshot(self, only: set[tuple[str, str]] | None = None) -> Stats:
        """Return a consistent copy for rendering, optionally of some targets only.

        ``only`` also leaves out the discovery counters (they belong to no one target).
        """
        copy = Stats()
        with self._lock:
            for (mine, width), (theirs, _) in zip(self._tables(), copy._tables(), strict=True):
                theirs.update({k: v for k, v in mine.items() if only is None or k[:width] in only})
        return copy

    def _tables(self) -> tuple[tuple[dict[tuple[str, ...], Any], int], ...]:
        """Return every table with how many leading key parts name its target."""
        return (
            (self.requests, 2),
            (self.errors, 2),
            (self.invalid, 2),
            (self.inconsistent, 2),
            (self.last_success, 2),
            (self.uhub_truncated, 2),
            (self.discovery_requests, 1),
            (self.discovery_errors, 1),
        )
