"""Counters that live across scrapes (and reloads): API requests and errors, odd entries."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

from exporter.config import Account, Config
from exporter.ucloud import Listing, Observer, Registry

__all__ = ["Stats"]

TargetKey = tuple[str, str, str]  # account, project, region


class Stats:
    """What the counters and last-success gauges show; thread-safe, copied for rendering.

    Three kinds of table, by what leads their keys: a target's (account, project, region),
    a UHub registry's (account, project) and an account's (account). Account-level calls
    (GetRegion, GetProjectList, AssumeRole, instance metadata, UHub) have no region or project.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: Counter[tuple[str, ...]] = Counter()  # target, action
        self.errors: Counter[tuple[str, ...]] = Counter()  # target, action, reason
        self.invalid: Counter[tuple[str, ...]] = Counter()  # target, field
        self.inconsistent: Counter[tuple[str, ...]] = Counter()  # target, kind
        self.last_success: dict[tuple[str, ...], float] = {}  # target
        self.uhub_invalid: Counter[tuple[str, ...]] = Counter()  # account, project, field
        self.uhub_inconsistent: Counter[tuple[str, ...]] = Counter()  # account, project, kind
        self.uhub_truncated: Counter[tuple[str, ...]] = Counter()  # account, project, reason
        self.account_requests: Counter[tuple[str, ...]] = Counter()  # account, action
        self.account_errors: Counter[tuple[str, ...]] = Counter()  # account, action, reason
        # The newer background sources' counters: (account, project, family name, label...)
        # of images inside buckets; (account, project, region, family name, label...) of
        # custom host images.
        self.docker: Counter[tuple[str, ...]] = Counter()
        self.host: Counter[tuple[str, ...]] = Counter()
        # The accounts of the configuration in force (None: every target is wanted). A request
        # of a target no longer wanted (an old listing still draining) is not counted.
        self._wanted: dict[str, Account] | None = None

    def observer(self, account: str, target: TargetKey | None = None) -> Observer:
        """Return an Observer that records attempts: a target's when ``target`` is given,
        else the account's own (account-level actions)."""

        def observe(action: str, reason: str | None) -> None:
            with self._lock:
                if target is None:
                    if self._wants((account,)):
                        self.account_requests[account, action] += 1
                        if reason is not None:
                            self.account_errors[account, action, reason] += 1
                    return
                if not self._wants(target):
                    return
                self.requests[(*target, action)] += 1
                if reason is not None:
                    self.errors[(*target, action, reason)] += 1

        return observe

    def record(self, target: TargetKey, *, ok: bool, listing: Listing | None) -> None:
        """Record a finished target listing (``listing`` is None when it failed)."""
        if listing is not None:
            self.record_oddities(target, listing)
        if ok:
            with self._lock:
                if self._wants(target):
                    self.last_success[target] = time.time()

    def record_oddities(self, key: tuple[str, ...], listing: Listing | Registry) -> None:
        """Count a listing's malformed fields and paging inconsistencies: a target's
        (``key`` account, project, region) or a UHub registry's (account, project)."""
        invalid, inconsistent = (
            (self.invalid, self.inconsistent)
            if len(key) == 3
            else (self.uhub_invalid, self.uhub_inconsistent)
        )
        with self._lock:
            if not self._wants(key):
                return
            for name, n in listing.invalid.items():
                invalid[(*key, name)] += n
            for kind in listing.inconsistencies:
                inconsistent[(*key, kind)] += 1

    def record_truncation(self, account: str, project: str, reason: str) -> None:
        """Count a UHub refresh that kept only part of the registry (``reason``: why)."""
        with self._lock:
            if self._wants((account, project)):
                self.uhub_truncated[account, project, reason] += 1

    def count(self, key: tuple[str, ...], family: str, *labels: str, n: int = 1) -> None:
        """Add ``n`` to counter ``family`` of a source's part: images inside buckets' when
        ``key`` is (account, project), custom host images' when (account, project, region)."""
        table, switch = (
            (self.docker, "docker_images") if len(key) == 2 else (self.host, "host_images")
        )
        with self._lock:
            if self._wants(key, switch):
                table[(*key, family, *labels)] += n

    def counts(self, family: str) -> dict[tuple[str, ...], int]:
        """Return counter ``family``'s values of the sources' tables by label values."""
        out = {}
        with self._lock:
            for table, width in ((self.docker, 2), (self.host, 3)):
                for key, n in table.items():
                    if key[width] == family:
                        out[(*key[:width], *key[width + 1 :])] = n
        return out

    def forget_unless(self, config: Config) -> None:
        """Drop everything about accounts, projects and regions a new configuration no longer
        has, and count nothing more of them (their listings may still be draining)."""
        with self._lock:
            self._wanted = {a.name: a for a in config.accounts}
            for table, width, switch in self._tables():
                for key in [k for k in table if not self._wants(k[:width], switch)]:
                    del table[key]

    def forget_targets(self, targets: set[TargetKey]) -> None:
        """Drop the rows of ``targets`` (discovery no longer finds their project or region):
        their series vanish. Counted again if they come back."""
        with self._lock:
            for table, width, _ in self._tables():
                if width == 3:
                    for key in [k for k in table if k[:3] in targets]:
                        del table[key]

    def _wants(self, key: tuple[str, ...], switch: str | None = None) -> bool:
        """Return whether the configuration has ``(account,)``, ``(account, project)`` (its
        UHub, or the source ``switch`` names) or ``(account, project, region)`` (with
        ``switch`` on, when given)."""
        if self._wanted is None:
            return True
        acc = self._wanted.get(key[0])
        if acc is None or len(key) == 1:
            return acc is not None
        if acc.projects and key[1] not in acc.projects:
            return False
        if switch is not None and not getattr(acc, switch):
            return False
        if len(key) == 2:
            return switch is not None or acc.uhub
        return acc.discover_regions or key[2] in acc.regions

    def snapshot(self, only: set[TargetKey] | None = None) -> Stats:
        """Return a consistent copy for rendering, optionally of some targets only.

        ``only`` leaves out the UHub and account-level counters (they belong to no target).
        """
        copy = Stats()
        with self._lock:
            for (mine, width, _), (theirs, *_) in zip(self._tables(), copy._tables(), strict=True):
                theirs.update({k: v for k, v in mine.items() if only is None or k[:width] in only})
        return copy

    def _tables(self) -> tuple[tuple[dict[tuple[str, ...], Any], int, str | None], ...]:
        """Return every table with how many leading key parts name its owner, and the
        account's switch of the source it counts for (None: always on, or UHub's)."""
        return (
            (self.requests, 3, None),
            (self.errors, 3, None),
            (self.invalid, 3, None),
            (self.inconsistent, 3, None),
            (self.last_success, 3, None),
            (self.uhub_invalid, 2, None),
            (self.uhub_inconsistent, 2, None),
            (self.uhub_truncated, 2, None),
            (self.account_requests, 1, None),
            (self.account_errors, 1, None),
            (self.docker, 2, "docker_images"),
            (self.host, 3, "host_images"),
        )
