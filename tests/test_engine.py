"""Engine behaviour that needs no network: overruns, close."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from exporter.config import Account, CollectSettings, Config, Secret, UCloudSettings
from exporter.engine import Engine
from exporter.ucloud import UCloudClient


def config(*, page_size: int = 100, **collect: Any) -> Config:
    account = Account(
        name="a",
        public_key="p",
        private_key=Secret("s"),
        project_id="org-1",
        regions=("cn-bj2", "hk"),
    )
    return Config(
        ucloud=UCloudSettings(base_url="https://api.example/", page_size=page_size),
        collect=CollectSettings(**collect),
        accounts=(account,),
    )


@contextlib.contextmanager
def engine_answering(
    answer: Callable[[httpx.Request], Any], *, page_size: int = 100, **collect: Any
) -> Iterator[Engine]:
    """An engine whose API client is answered by ``answer`` (sync or async)."""
    cfg = config(page_size=page_size, **collect)
    engine = Engine(cfg, client=UCloudClient(cfg.ucloud, transport=httpx.MockTransport(answer)))
    try:
        yield engine
    finally:
        engine.close(wait=5)


def test_starved_loop_still_answers_in_time_with_every_target_failed():
    def hog(request: httpx.Request) -> httpx.Response:
        time.sleep(1.5)  # blocks the event loop, like CPU-bound work on a starved machine
        return httpx.Response(200, json={"RetCode": 0, "TotalCount": 0, "ImageSet": []})

    with engine_answering(hog) as engine:
        started = time.monotonic()
        results = engine.collect(timeout=0.3)
        elapsed = time.monotonic() - started
        assert [(r.region, r.ok, r.error and r.error.reason) for r in results] == [
            ("cn-bj2", False, "deadline"),
            ("hk", False, "deadline"),
        ]
        assert elapsed < 1.2  # did not wait for the hog to finish


def test_a_busy_loop_costs_only_the_target_that_did_not_finish():
    async def answer(request: httpx.Request) -> httpx.Response:
        if b"Region=hk" in request.content:
            await asyncio.sleep(0.1)  # after cn-bj2 is done ...
            time.sleep(1.5)  # ... this target blocks the event loop (a huge page to parse)
        return httpx.Response(
            200,
            json={
                "RetCode": 0,
                "TotalCount": 1,
                "ImageSet": [
                    {"BucketName": "b", "BucketType": "Private", "ImageCount": 1, "CreateTime": 1}
                ],
            },
        )

    with engine_answering(answer) as engine:
        started = time.monotonic()
        results = engine.collect(timeout=0.5)
        elapsed = time.monotonic() - started
        assert [(r.region, r.ok, r.error and r.error.reason) for r in results] == [
            ("cn-bj2", True, None),
            ("hk", False, "deadline"),
        ]  # was: both failed
        assert elapsed < 0.7  # by the budget (0.5 s); the old grace made it >= 0.75 s


def test_an_absurd_timeout_is_clamped_not_an_overflow():
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"RetCode": 0, "TotalCount": 0, "ImageSet": []})

    with engine_answering(answer) as engine:
        results = engine.collect(timeout=1e10)  # was: OverflowError from the thread wait
        assert [r.ok for r in results] == [True, True]


def paged(delay: Callable[[], float]) -> Callable[[httpx.Request], Any]:
    """A gateway of 6 buckets in pages of 2, each answer ``delay()`` seconds late."""

    async def answer(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(delay())
        offset = int(dict(parse_qsl(request.content.decode()))["Offset"])
        items = [
            {"BucketName": f"b{i}", "BucketType": "Private", "ImageCount": i, "CreateTime": 1}
            for i in range(offset, min(offset + 2, 6))
        ]
        return httpx.Response(200, json={"RetCode": 0, "TotalCount": 6, "ImageSet": items})

    return answer


def test_a_listing_longer_than_the_scrape_timeout_finishes_in_the_background():
    with engine_answering(paged(lambda: 0.2), page_size=2) as engine:  # ~0.4 s a listing
        seen = []
        for _ in range(4):
            started = time.monotonic()
            results = engine.collect(timeout=0.25)
            assert time.monotonic() - started < 0.45  # each answer on time
            seen.append([r.ok for r in results])
            time.sleep(0.05)
        assert seen[0] == [False, False]  # nothing listed yet: deadline
        assert seen[-1] == [True, True]  # was: every scrape started over and was cut short
        assert all(len(r.buckets or ()) == 6 for r in results)


def test_last_data_is_served_while_a_listing_runs_until_it_is_too_old():
    slow = False
    with engine_answering(
        paged(lambda: 5.0 if slow else 0.0), page_size=2, max_data_age_seconds=0.5
    ) as engine:
        assert [r.ok for r in engine.collect(timeout=1)] == [True, True]
        slow = True  # the next listing hangs
        assert [r.ok for r in engine.collect(timeout=0.1)] == [True, True]  # last data
        time.sleep(0.5)
        late = engine.collect(timeout=0.1)
        assert [(r.ok, r.error and r.error.reason) for r in late] == [
            (False, "deadline"),
            (False, "deadline"),
        ]  # older than max_data_age_seconds


def test_a_listing_is_cut_at_its_own_hard_cap():
    with engine_answering(paged(lambda: 5.0), listing_timeout_seconds=0.3) as engine:
        engine.collect(timeout=0.1)
        time.sleep(0.4)
        results = engine.collect(timeout=0.1)
        assert [(r.ok, r.error and r.error.reason) for r in results] == [
            (False, "deadline"),
            (False, "deadline"),
        ]


@pytest.mark.parametrize(("loop", "kind"), [("asyncio",) * 2, ("uvloop",) * 2, ("auto", "uvloop")])
def test_the_engine_runs_on_the_event_loop_it_is_given(loop: str, kind: str) -> None:
    # uvloop is a dependency here (Linux), so auto, the default, is uvloop.
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"RetCode": 0, "TotalCount": 0, "ImageSet": []})

    cfg = config()
    client = UCloudClient(cfg.ucloud, transport=httpx.MockTransport(answer))
    engine = Engine(cfg, client=client, loop=loop)
    try:
        assert type(engine._loop).__module__.startswith(kind)
        assert all(r.ok for r in engine.collect(timeout=5))
    finally:
        engine.close(wait=5)
    with pytest.raises(ValueError, match="unknown event loop"):
        Engine(cfg, client=client, loop="trio")


def test_close_cancels_detached_listings_instead_of_destroying_them(caplog):
    """A listing still running (detached) at close is cancelled, not destroyed pending."""

    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(60)
        raise AssertionError("not reached")

    cfg = config()
    engine = Engine(cfg, client=UCloudClient(cfg.ucloud, transport=httpx.MockTransport(hang)))
    results = engine.collect(timeout=0.2)  # the listings go on in the background
    assert all(r.error is not None and r.error.reason == "deadline" for r in results)
    tasks = [slot.task for slot in engine._slots.values()]
    engine.close(wait=0)
    assert tasks and all(t is not None and t.cancelled() for t in tasks)
    del tasks, engine
    gc.collect()
    assert "Task was destroyed" not in caplog.text
