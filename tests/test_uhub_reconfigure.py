"""UHubBook.reconfigure in process: a reload keeps unchanged accounts' states and schedules."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import Counter
from collections.abc import Callable
from urllib.parse import parse_qsl

import httpx

from exporter.config import Account, CollectSettings, Config, Secret, UCloudSettings, UHubSettings
from exporter.credentials import AssumeRole, InstanceRole
from exporter.sources.uhub import UHUB, UHubBook
from exporter.stats import Stats
from exporter.ucloud import UCloudClient
from tests.support.inprocess import configured_projects

HOUR = UHubSettings(refresh_seconds=3600, max_data_age_seconds=3 * 3600, tag_counts="off")


def account(name: str, key: str | None = None) -> Account:
    return Account(
        name=name,
        public_key=key or f"{name}-key",
        private_key=Secret("s"),
        project_id=None,
        regions=("cn-bj2",),
        uhub=True,
    )


def cfg(*accounts: Account, uhub: UHubSettings = HOUR) -> Config:
    return Config(
        ucloud=UCloudSettings(base_url="https://api.example/", retries=0),
        collect=CollectSettings(),
        accounts=accounts,
        uhub=uhub,
    )


class Registry:
    """An empty registry per key; counts GetRepo calls by public key."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.held: asyncio.Event | None = None  # answers wait for it while set

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        form = dict(parse_qsl(request.content.decode()))
        self.calls[form["PublicKey"]] += 1
        if self.held is not None:
            await self.held.wait()
        return httpx.Response(200, json={"RetCode": 0, "TotalCount": 0, "RepoSet": []})


async def until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait on the loop until ``predicate()`` holds (the book has no event to wait on)."""
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "timed out"
        await asyncio.sleep(0.01)


def test_reconfigure_keeps_unchanged_accounts_and_their_schedules() -> None:
    registry = Registry()
    a, b = account("a"), account("b")

    async def go() -> None:
        client = UCloudClient(cfg().ucloud, transport=httpx.MockTransport(registry))
        book = UHubBook(client, cfg(a, b), Stats(), configured_projects)
        ups = lambda: {s.account: s.up for s in book.states()}  # noqa: E731
        await book.start()
        await until(lambda: ups() == {"a": True, "b": True})
        assert registry.calls == {"a-key": 2, "b-key": 2}  # GetRepo private and public
        kept = book.states()[0]

        # b's keys change, c is new, a is unchanged: a is not refreshed early.
        await book.reconfigure(client, cfg(a, account("b", "b-other"), account("c")))
        assert book.states()[0] is kept
        await until(lambda: ups() == {"a": True, "b": True, "c": True})
        assert registry.calls == {"a-key": 2, "b-key": 2, "b-other": 2, "c-key": 2}

        # Other listing settings: every account relists at once, showing its registry till then.
        changed = dataclasses.replace(HOUR, repo_types=("private",))
        registry.held = asyncio.Event()
        await book.reconfigure(client, cfg(a, uhub=changed))
        await until(lambda: registry.calls["a-key"] == 3)  # asked at once ...
        assert [s.data for s in book.states()] == [kept.data]  # ... shown till it ends
        registry.held.set()
        await until(lambda: book.states()[0].last_success != kept.last_success)

        # A shorter interval is re-judged from the last refresh's end, not from the reload.
        short = dataclasses.replace(changed, refresh_seconds=0.2)
        await book.reconfigure(client, cfg(a, uhub=short))
        await until(lambda: registry.calls["a-key"] >= 5, timeout=2)

        await book.reconfigure(client, cfg())  # none left: every loop stopped
        assert book.states() == []
        settled = dict(registry.calls)
        await asyncio.sleep(0.5)
        assert registry.calls == settled
        await book.stop()
        await client.aclose()

    asyncio.run(go())


def test_changed_listing_settings_cancel_a_refresh_in_flight() -> None:
    """Else it ends with the old settings and the relist waits a whole interval."""
    registry, a = Registry(), account("a")
    registry.held = asyncio.Event()

    async def go() -> None:
        client = UCloudClient(cfg().ucloud, transport=httpx.MockTransport(registry))
        book = UHubBook(client, cfg(a), Stats(), configured_projects)
        await book.start()
        await until(lambda: registry.calls["a-key"] == 1)  # the first GetRepo hangs
        await book.reconfigure(
            client, cfg(a, uhub=dataclasses.replace(HOUR, repo_types=("private",)))
        )
        assert registry.held is not None
        registry.held.set()
        await until(lambda: [s.up for s in book.states()] == [True])
        state = book.states()[0]
        assert state.data is not None and state.data.requests == 1  # private only
        assert registry.calls["a-key"] == 2  # the cancelled GetRepo and the new one
        await book.stop()
        await client.aclose()

    asyncio.run(go())


def test_an_account_whose_temporary_key_source_changes_is_another_registry() -> None:
    """Was: only the key pair counted, and an instance_role account has none (""), so a new
    role or assumed role kept the old account's registries and schedule."""
    role = dataclasses.replace(account("a", ""), instance_role=InstanceRole("reader"))
    for other in (
        dataclasses.replace(role, instance_role=InstanceRole("admin")),
        dataclasses.replace(role, assume_role=AssumeRole("ucs:iam::1:role/x")),
    ):
        assert UHUB.identity(other) != UHUB.identity(role)
    assert UHUB.identity(dataclasses.replace(role)) == UHUB.identity(role)
