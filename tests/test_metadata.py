"""Temporary keys from the instance metadata service: the simulator's (v2, v1, refusals) and
hostile ones (stall, 10 MB, junk, an expired key), each bounded in time, memory and calls."""

from __future__ import annotations

import asyncio
import resource
import time
from collections.abc import Iterator

import httpx
import pytest

from exporter.credentials import (
    MAX_METADATA_BYTES,
    InstanceRole,
    Key,
    SourceError,
    fetch_instance_key,
)
from exporter.simulator import GOLDEN_PUBLIC_KEY, STS, Simulator, golden_fleet
from tests.support.metadata import HOSTILE_SECRET, HOSTILE_TOKEN, hostile


def fetch(url: str, role: str = "", *, timeout: float = 2.0) -> Key:
    async def run() -> Key:
        async with httpx.AsyncClient(trust_env=False) as http:
            return await fetch_instance_key(http, InstanceRole(role, url), timeout=timeout)

    return asyncio.run(run())


@pytest.fixture
def served() -> Iterator[tuple[Simulator, STS]]:
    fleet = golden_fleet()
    sts = STS(fleet, roles={"": GOLDEN_PUBLIC_KEY, "reader": GOLDEN_PUBLIC_KEY}, lifetime=120)
    with Simulator(fleet, sts=sts) as sim:
        yield sim, sts


@pytest.mark.e2e
def test_v2_gives_a_temporary_key_with_token_and_expiry(served) -> None:
    sim, sts = served
    before = time.time()
    key = fetch(sim.url, "reader")
    assert key.token is not None and key.token.reveal()
    assert key.expires is not None and before + 100 < key.expires <= before + 121
    assert sts.calls == {"v2": 1}
    assert repr(key) == f"Key(expires={key.expires!r}, issued={key.issued!r})"


@pytest.mark.e2e
def test_the_default_role_is_asked_without_a_name(served) -> None:
    sim, sts = served
    assert fetch(sim.url).expires is not None
    assert sts.calls == {"v2": 1}


@pytest.mark.e2e
def test_v1_is_asked_where_v2_answers_404(served) -> None:
    sim, sts = served
    sts.v1_only = True
    key = fetch(sim.url, "reader")
    assert key.token is not None and key.expires is not None and key.expires > time.time()
    assert sts.calls == {"v2": 1, "v1": 1}


@pytest.mark.e2e
def test_a_refused_role_is_one_line_with_its_retcode_and_message(served) -> None:
    sim, _ = served
    with pytest.raises(SourceError) as caught:
        fetch(sim.url, "nobody")
    text = str(caught.value)
    assert "\n" not in text and caught.value.reason == "refused"
    assert text == (
        f"instance_role nobody (metadata {sim.url}): refused: RetCode 230: "
        "role [nobody] is not attached to this instance"
    )


def test_a_stalling_service_fails_within_the_timeout() -> None:
    with hostile("stall", stall_seconds=20) as meta:
        started = time.monotonic()
        with pytest.raises(SourceError, match=r"no answer within 0.5s") as caught:
            fetch(meta.url, timeout=0.5)
        assert time.monotonic() - started < 3
        assert caught.value.reason == "timeout" and meta.calls == 1


def test_a_10_mb_answer_is_refused_after_the_cap_without_holding_it() -> None:
    with hostile("huge", huge_bytes=10 << 20) as meta:
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.monotonic()
        with pytest.raises(SourceError, match=f"more than {MAX_METADATA_BYTES} bytes"):
            fetch(meta.url, timeout=5)
        assert time.monotonic() - started < 5
        grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
        assert grown_kib < 8 * 1024  # never the 10 MB body
        assert meta.calls == 1


def test_junk_json_is_one_line_naming_the_source() -> None:
    with hostile("junk") as meta, pytest.raises(SourceError) as caught:
        fetch(meta.url, "r")
    assert str(caught.value) == (
        f"instance_role r (metadata {meta.url}): /meta-data/v2/iam/security-credentials "
        "answered something that is not JSON"
    )
    assert meta.calls == 1


def test_an_already_expired_key_is_refused_and_never_shown() -> None:
    with (
        hostile("expired") as meta,
        pytest.raises(SourceError, match=r"expired at .*, in the past") as caught,
    ):
        fetch(meta.url)
    text = str(caught.value)
    assert HOSTILE_SECRET not in text and HOSTILE_TOKEN not in text
    assert caught.value.reason == "expired"


def test_404_on_both_paths_names_the_status() -> None:
    with hostile("notfound") as meta:
        with pytest.raises(SourceError, match=r"v1/uam/security-credentials answered HTTP 404"):
            fetch(meta.url)
        assert meta.calls == 2
