"""The one refresh mechanism of background sources, with a fake in-memory source (no network).

Interval, due time re-judged on reload, the data-age cut, isolation between accounts, a bug
costing one refresh (reason ``internal``) but not the loop, a reload storm costing no fetch,
and ``stop`` cancelling everything.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import replace
from typing import Any

from exporter.config import Account, CollectSettings, Config, Secret, UCloudSettings, UHubSettings
from exporter.sources import Call, Source, SourceBook, SourceState
from exporter.stats import Stats
from exporter.ucloud import TransportError, UCloudClient
from tests.support.inprocess import configured_projects

log = logging.getLogger(__name__)


class Fake(Source[str]):
    """An in-memory source: ``data`` per account (an exception is raised); counts fetches.

    Its interval and data age are the ``uhub`` section's (borrowed, it has none of its own);
    its accounts are those named in ``names``.
    """

    title = "Fake"
    log = log

    def __init__(self, *names: str) -> None:
        self.names = set(names)
        self.data: dict[str, str | Exception] = {}
        self.calls: Counter[str] = Counter()
        self.held: asyncio.Event | None = None  # fetches wait for it while set
        self.cancelled = 0

    def enabled(self, account: Account) -> bool:
        return account.name in self.names

    def interval(self, config: Config) -> float:
        return config.uhub.refresh_seconds

    def max_data_age(self, config: Config) -> float:
        return config.uhub.max_data_age_seconds

    def identity(self, account: Account) -> tuple[object, ...]:
        return (account.public_key,)

    def listing(self, config: Config) -> tuple[object, ...]:
        return (config.ucloud.base_url,)

    async def fetch(self, call: Call[str], account: Account, project: str) -> str:
        self.calls[account.name] += 1
        if self.held is not None:
            try:
                await self.held.wait()
            except asyncio.CancelledError:
                self.cancelled += 1
                raise
        got = self.data.get(account.name, f"{account.name}-data")
        if isinstance(got, Exception):
            raise got
        return got


def account(name: str) -> Account:
    return Account(
        name=name,
        public_key=f"{name}-key",
        private_key=Secret("s"),
        project_id=None,
        regions=("cn-bj2",),
    )


def cfg(*names: str, every: float = 3600, age: float = 3 * 3600) -> Config:
    return Config(
        ucloud=UCloudSettings(base_url="https://api.example/", retries=0),
        collect=CollectSettings(),
        accounts=tuple(account(n) for n in names),
        uhub=UHubSettings(refresh_seconds=every, max_data_age_seconds=age),
    )


async def until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "timed out"
        await asyncio.sleep(0.01)


def run(
    source: Fake,
    config: Config,
    body: Callable[[SourceBook[str], UCloudClient], Coroutine[Any, Any, None]],
) -> None:
    """Run ``body`` with a started book of ``source``, stopping it after (bounded in time)."""

    async def go() -> None:
        client = UCloudClient(config.ucloud)
        book = SourceBook(source, client, config, Stats(), configured_projects)
        await book.start()
        try:
            await body(book, client)
        finally:
            await book.stop()
            await client.aclose()

    asyncio.run(asyncio.wait_for(go(), 20))


def by_account(book: SourceBook[str]) -> dict[str, SourceState[str]]:
    return {s.account: s for s in book.states()}


def test_each_account_refreshes_every_interval():
    source = Fake("a", "b")

    async def body(book: SourceBook[str], client: UCloudClient) -> None:
        await until(lambda: source.calls["a"] >= 4 and source.calls["b"] >= 4)
        states = by_account(book)
        assert states["a"].up and states["a"].data == "a-data" and states["a"].reason is None

    started = time.monotonic()
    run(source, cfg("a", "b", every=0.1), body)
    assert time.monotonic() - started >= 0.3  # three intervals at least between four fetches


def test_a_reload_re_judges_the_due_time():
    source = Fake("a")

    async def body(book: SourceBook[str], client: UCloudClient) -> None:
        await until(lambda: source.calls["a"] == 1)
        await asyncio.sleep(0.2)
        assert source.calls["a"] == 1  # next due in an hour
        await book.reconfigure(client, cfg("a", every=0.05))
        await until(lambda: source.calls["a"] >= 3)  # due at once now, then every 0.05 s

    run(source, cfg("a"), body)


def test_data_older_than_the_max_age_is_no_longer_served():
    at = time.time()
    old = SourceState("a", "default", up=False, last_success=at - 100, data="old", fetched=at - 100)
    young = SourceState(
        "b", "default", up=False, last_success=at - 10, data="young", fetched=at - 10
    )
    config = cfg("a", "b", age=50)
    book = SourceBook(Fake("a", "b"), UCloudClient(config.ucloud), config, Stats(),
                      configured_projects, previous=[old, young])  # fmt: skip
    assert by_account(book) == {"a": replace(old, data=None), "b": young}


def test_a_failing_account_costs_only_its_own_data():
    source = Fake("bad", "good")

    async def body(book: SourceBook[str], client: UCloudClient) -> None:
        await until(lambda: len(book.states()) == 2)
        first = by_account(book)
        assert first["bad"].up and first["good"].up
        source.data["bad"] = TransportError("refused", action="Fake")
        await until(lambda: not by_account(book)["bad"].up)
        states = by_account(book)
        assert states["bad"].reason == "transport"
        assert states["bad"].data == "bad-data"  # the last good data, still young
        assert states["bad"].last_success == first["bad"].last_success
        await until(lambda: source.calls["good"] > source.calls["bad"] - 1)
        assert by_account(book)["good"].up and by_account(book)["good"].data == "good-data"

    run(source, cfg("bad", "good", every=0.05), body)


def test_a_bug_is_reason_internal_and_the_loop_goes_on(caplog):
    source = Fake("a")
    source.data["a"] = RuntimeError("a bug")

    async def body(book: SourceBook[str], client: UCloudClient) -> None:
        await until(lambda: source.calls["a"] >= 1 and len(book.states()) == 1)
        state = book.states()[0]
        assert not state.up and state.reason == "internal" and state.data is None
        del source.data["a"]  # fixed: the next refresh works
        await until(lambda: bool(book.states()[0].up))
        assert book.states()[0].data == "a-data"

    with caplog.at_level(logging.ERROR, logger=__name__):
        run(source, cfg("a", every=0.05), body)
    assert any("Fake refresh crashed" in r.getMessage() for r in caplog.records)


def test_a_reload_storm_starts_no_fetch_for_unchanged_accounts():
    source = Fake("a", "b")

    async def body(book: SourceBook[str], client: UCloudClient) -> None:
        await until(lambda: source.calls == {"a": 1, "b": 1})
        kept = by_account(book)
        for i in range(50):  # equal configs (new objects), half of them adding "c"
            source.names = {"a", "b", "c"} if i % 2 else {"a", "b"}
            await book.reconfigure(client, cfg("a", "b", "c") if i % 2 else cfg("a", "b"))
        await asyncio.sleep(0.2)
        assert source.calls["a"] == 1 and source.calls["b"] == 1
        assert by_account(book)["a"] is kept["a"] and by_account(book)["b"] is kept["b"]

    run(source, cfg("a", "b"), body)


def test_stop_cancels_every_refresh():
    source = Fake("a", "b")
    source.held = asyncio.Event()

    async def body(book: SourceBook[str], client: UCloudClient) -> None:
        await until(lambda: source.calls == {"a": 1, "b": 1})  # both fetches hang
        await book.stop()
        assert source.cancelled == 2 and book.states() == []
        await asyncio.sleep(0.1)
        assert source.calls == {"a": 1, "b": 1}  # nothing runs after stop

    run(source, cfg("a", "b"), body)
