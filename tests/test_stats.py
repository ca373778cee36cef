"""Counters across reloads, and the account-level counters (exporter.stats)."""

from __future__ import annotations

from collections.abc import Mapping

from exporter.config import Account, CollectSettings, Config, Secret, UCloudSettings
from exporter.stats import Stats
from exporter.ucloud import Listing, Registry


def config(*accounts: tuple[str, tuple[str, ...] | None], projects: tuple[str, ...] = ()) -> Config:
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
                project_list=projects,
                uhub=True,
            )
            for name, regions in accounts
        ),
    )


def busy_stats() -> Stats:
    stats = Stats()
    targets = (("kept", "p1", "hk"), ("kept", "p1", "sg"), ("gone", "p1", "hk"))
    for target in (*targets, ("auto", "p1", "jp"), ("kept", "p2", "hk")):
        stats.observer(target[0], target)("GetImageBucketList", "timeout")
        listing = Listing((), {"ImageCount": 1}, frozenset({"total_ahead"}), 1)
        stats.record(target, ok=True, listing=listing)
    for account in ("kept", "gone", "auto"):
        stats.observer(account)("GetRegion", "retcode_293")
        stats.observer(account)("GetRepo", None)
        registry = Registry((), (), {"PullCount": 2}, frozenset({"repeated_page"}), 1)
        stats.record_oddities((account, "p1"), registry)
        stats.record_truncation(account, "p2", "too_many_images")
    return stats


def owners(stats: Stats) -> dict[str, set[tuple[str, ...]]]:
    """Return, per table, the targets, registries or accounts its rows belong to."""
    tables: dict[str, tuple[Mapping[tuple[str, ...], float], int]] = {
        "requests": (stats.requests, 3),
        "errors": (stats.errors, 3),
        "invalid": (stats.invalid, 3),
        "inconsistent": (stats.inconsistent, 3),
        "last_success": (stats.last_success, 3),
        "uhub_invalid": (stats.uhub_invalid, 2),
        "uhub_inconsistent": (stats.uhub_inconsistent, 2),
        "uhub_truncated": (stats.uhub_truncated, 2),
        "account_requests": (stats.account_requests, 1),
        "account_errors": (stats.account_errors, 1),
    }
    return {name: {key[:width] for key in table} for name, (table, width) in tables.items()}


def test_a_reload_forgets_the_counters_of_removed_accounts_projects_and_regions():
    stats = busy_stats()
    stats.forget_unless(config(("kept", ("hk",)), ("auto", None), projects=("p1",)))
    seen = owners(stats)
    for name in ("requests", "errors", "invalid", "inconsistent", "last_success"):
        assert seen[name] == {("kept", "p1", "hk"), ("auto", "p1", "jp")}, name
    assert seen["uhub_invalid"] == seen["uhub_inconsistent"] == {("kept", "p1"), ("auto", "p1")}
    assert seen["uhub_truncated"] == set()  # p2 is no longer a project of theirs
    assert seen["account_requests"] == seen["account_errors"] == {("kept",), ("auto",)}


def test_account_level_calls_have_no_region_or_project_label():
    stats = busy_stats()
    assert all(len(key) == 4 and all(key) for key in stats.requests)
    assert stats.account_requests[("kept", "GetRegion")] == 1
    assert stats.account_requests[("kept", "GetRepo")] == 1
    assert stats.account_errors[("kept", "GetRegion", "retcode_293")] == 1
    assert ("kept", "GetRepo", "timeout") not in stats.account_errors
    assert stats.uhub_invalid[("kept", "p1", "PullCount")] == 2
    assert not any(key[2] == "" for key in stats.invalid)  # was: UHub's with region ""


def test_a_probe_snapshot_holds_only_its_target():
    snap = busy_stats().snapshot({("kept", "p1", "hk")})
    assert set(snap.requests) == {("kept", "p1", "hk", "GetImageBucketList")}
    assert set(snap.last_success) == {("kept", "p1", "hk")}
    assert not snap.account_requests and not snap.uhub_invalid and not snap.uhub_truncated


def test_nothing_more_is_counted_for_a_removed_target_while_it_drains():
    stats = busy_stats()
    stats.forget_unless(config(("kept", ("hk",)), projects=("p1",)))
    stats.observer("kept", ("kept", "p2", "hk"))("GetImageBucketList", None)
    stats.observer("gone")("GetProjectList", None)
    stats.record(("kept", "p1", "sg"), ok=True, listing=None)
    assert ("kept", "p2", "hk", "GetImageBucketList") not in stats.requests
    assert ("gone", "GetProjectList") not in stats.account_requests
    assert ("kept", "p1", "sg") not in stats.last_success
