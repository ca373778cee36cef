"""Counters across reloads, and GetRegion's own counters (exporter.stats)."""

from __future__ import annotations

from collections.abc import Mapping

from exporter.config import Account, CollectSettings, Config, Secret, UCloudSettings
from exporter.stats import Stats
from exporter.ucloud import Listing


def config(*accounts: tuple[str, tuple[str, ...] | None]) -> Config:
    return Config(
        ucloud=UCloudSettings(),
        collect=CollectSettings(),
        accounts=tuple(
            Account(
                name=name,
                public_key="p",
                private_key=Secret("s"),
                project_id=None,
                regions=regions or (),
                discover_regions=regions is None,
            )
            for name, regions in accounts
        ),
    )


def busy_stats() -> Stats:
    stats = Stats()
    for account, region in (("kept", "hk"), ("kept", "sg"), ("gone", "hk"), ("auto", "jp")):
        stats.observer(account, region)("GetImageBucketList", "timeout")
        listing = Listing((), {"ImageCount": 1}, frozenset({"total_ahead"}), 1)
        stats.record(account, region, ok=True, listing=listing)
    for account in ("kept", "gone", "auto"):
        stats.observer(account, None)("GetRegion", "retcode_293")
    return stats


def accounts_in(stats: Stats) -> dict[str, set[tuple[str, ...]]]:
    """Return, per table, the targets (account, region) or accounts its rows belong to."""
    targets: dict[str, Mapping[tuple[str, ...], float]] = {
        "requests": stats.requests,
        "errors": stats.errors,
        "invalid": stats.invalid,
        "inconsistent": stats.inconsistent,
        "last_success": stats.last_success,
    }
    accounts: dict[str, Mapping[tuple[str, ...], float]] = {
        "discovery_requests": stats.discovery_requests,
        "discovery_errors": stats.discovery_errors,
    }
    return {
        **{name: {key[:2] for key in table} for name, table in targets.items()},
        **{name: {key[:1] for key in table} for name, table in accounts.items()},
    }


def test_a_reload_forgets_the_counters_of_removed_accounts_and_regions():
    stats = busy_stats()
    stats.forget_unless(config(("kept", ("hk",)), ("auto", None)))
    targets = {("kept", "hk"), ("auto", "jp")}
    seen = accounts_in(stats)
    for name in ("requests", "errors", "invalid", "inconsistent", "last_success"):
        assert seen[name] == targets, name  # was: only last_success forgot them
    assert seen["discovery_requests"] == seen["discovery_errors"] == {("kept",), ("auto",)}


def test_get_region_is_counted_per_account_without_a_region_label():
    stats = busy_stats()
    assert all(key[1] for key in stats.requests)  # was: ("kept", "", "GetRegion")
    assert stats.discovery_requests[("kept",)] == 1
    assert stats.discovery_errors[("kept", "retcode_293")] == 1


def test_a_probe_snapshot_holds_only_its_target():
    snap = busy_stats().snapshot({("kept", "hk")})
    assert set(snap.requests) == {("kept", "hk", "GetImageBucketList")}
    assert not snap.discovery_requests and set(snap.last_success) == {("kept", "hk")}
