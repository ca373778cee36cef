"""Temporary keys in a running engine: fetched in the background, refreshed before they
expire under continuous scrapes, kept by reloads, and failing as ``credentials`` only once
expired, then recovering. Each test is bounded in time and counts the STS calls."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
import yaml

from exporter import config, metrics
from exporter.engine import Engine
from exporter.runtime import Runtime
from exporter.stats import Stats
from tests.support.asgi import runtime_on
from tests.support.metadata import hostile
from tests.support.temporary import (
    ROLE_URN,
    assuming_account,
    instance_account,
    sts_config,
    sts_simulator,
)


def errors(engine: Engine) -> list[str | None]:
    return [r.error.reason if r.error else None for r in engine.collect(timeout=3)]


def expiry(runtime: Runtime) -> dict[str, float]:
    found = [f for f in runtime.families() if f.name == metrics.CREDENTIALS_EXPIRY.name]
    return {s.labels["account"]: s.value for s in found[0].samples}


@pytest.mark.e2e
@pytest.mark.parametrize("account", [instance_account(), assuming_account()])
def test_keys_are_refreshed_before_they_expire_under_continuous_scrapes(account) -> None:
    with sts_simulator(lifetime=3) as (sim, sts):
        engine = Engine(config.parse(sts_config(sim, [account]), env={}))
        try:
            failed, scrapes, ends = 0, 0, time.monotonic() + 8
            while time.monotonic() < ends:
                failed += errors(engine) != [None]
                scrapes += 1
                time.sleep(0.2)
            assert failed == 0 and scrapes >= 20
            fetches = sts.calls["v2"] + sts.calls["AssumeRole"]
            assert 3 <= fetches <= 8  # about one per 2.4 s (80 % of a 3 s lifetime)
        finally:
            engine.close()


@pytest.mark.e2e
def test_a_failing_refresh_keeps_the_old_key_until_it_expires_then_recovers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    with sts_simulator(lifetime=4) as (sim, sts):
        engine = Engine(config.parse(sts_config(sim, [instance_account()]), env={}))
        try:
            assert errors(engine) == [None]
            expires = engine.keys.expiries()["inst"]
            sts.refuse_metadata = True
            while time.time() < expires - 0.3:  # the old key serves every scrape meanwhile
                assert errors(engine) == [None]
                time.sleep(0.2)
            time.sleep(max(0.0, expires - time.time()) + 0.1)
            assert errors(engine) == ["credentials"]
            refused = sts.calls["v2"]
            assert refused <= 2 + 4 / 0.5  # retries back off (at least 0.5 s apart here)
            sts.refuse_metadata = False
            until = time.monotonic() + 5
            while errors(engine) != [None]:
                assert time.monotonic() < until, "no recovery within 5 s"
                time.sleep(0.2)
        finally:
            engine.close()
    lines = [r.getMessage() for r in caplog.records if r.name == "exporter.keybook"]
    expired = [line for line in lines if line.startswith("credentials expired")]
    assert len(expired) == 1
    assert "instance_role image-reader (metadata" in expired[0]
    assert "refused: RetCode 230: role [image-reader] is not attached" in expired[0]


def test_the_first_fetch_is_in_the_background_and_a_scrape_waits_for_it() -> None:
    with hostile("stall", stall_seconds=20) as meta:
        cfg = config.parse(
            {
                "ucloud": {"base_url": "http://127.0.0.1:9/", "metadata_url": meta.url,
                           "timeout_seconds": 1},
                "accounts": [instance_account()],
            },
            env={},
        )  # fmt: skip
        started = time.monotonic()
        engine = Engine(cfg)
        try:
            assert time.monotonic() - started < 0.5  # building the engine fetches nothing
            result = engine.collect(timeout=3)[0]
            assert result.error is not None and result.error.reason == "credentials"
            assert "no answer within 1s" in str(result.error)
            assert time.monotonic() - started < 4
        finally:
            engine.close()
        assert 1 <= meta.calls <= 3


@pytest.mark.e2e
def test_a_reload_storm_fetches_no_key_again(tmp_path: Path) -> None:
    with sts_simulator(lifetime=600) as (sim, sts):
        accounts = [instance_account(), assuming_account()]
        with runtime_on(tmp_path, sts_config(sim, accounts)) as (runtime, path):
            assert errors(runtime.engine) == [None, None]
            before = dict(sts.calls)
            assert before == {"v2": 1, "AssumeRole": 1}
            for i in range(50):  # a changed file each time: the engine is reconfigured
                extra = {"name": "other", "public_key": "k", "private_key": "p",
                         "regions": [f"r{i}"]}  # fmt: skip
                path.write_text(yaml.safe_dump(sts_config(sim, [*accounts, extra])))
                assert runtime.reload() is True
            assert dict(sts.calls) == before
            assert set(expiry(runtime)) == {"inst", "assumer"}


@pytest.mark.e2e
def test_a_changed_source_fetches_again_and_the_gauge_follows(tmp_path: Path) -> None:
    with (
        sts_simulator(lifetime=600) as (sim, sts),
        runtime_on(tmp_path, sts_config(sim, [instance_account()])) as (runtime, path),
    ):
        assert errors(runtime.engine) == [None]
        first = expiry(runtime)["inst"]
        assert first > time.time() + 500
        path.write_text(yaml.safe_dump(sts_config(sim, [instance_account(instance_role=True)])))
        assert runtime.reload() is True
        assert errors(runtime.engine) == [None]
        assert sts.calls["v2"] == 2
        static = {"name": "inst", "public_key": "k", "private_key": "p", "regions": ["hk"]}
        path.write_text(yaml.safe_dump(sts_config(sim, [static])))
        assert runtime.reload() is True
        assert expiry(runtime) == {}  # absent for long-lived keys


@pytest.mark.e2e
def test_a_gateway_refusing_assume_role_fails_as_credentials_naming_the_role() -> None:
    with sts_simulator() as (sim, _):
        account = assuming_account(assume_role={"role_urn": "ucs:iam::100:role/nobody"})
        engine = Engine(config.parse(sts_config(sim, [account]), env={}))
        try:
            result = engine.collect(timeout=3)[0]
        finally:
            engine.close()
    assert result.error is not None and result.error.reason == "credentials"
    text = str(result.error)
    assert "assume_role ucs:iam::100:role/nobody on static failed: AssumeRole: RetCode 230" in text


def test_a_source_of_ever_shorter_keys_is_asked_at_most_once_a_second() -> None:
    with hostile("brief") as meta:
        cfg = config.parse(
            {
                "ucloud": {"base_url": "http://127.0.0.1:9/", "metadata_url": meta.url},
                "accounts": [instance_account()],
            },
            env={},
        )
        engine = Engine(cfg)
        try:
            time.sleep(4)
        finally:
            engine.close()
        assert 2 <= meta.calls <= 6  # not one every few milliseconds


@pytest.mark.e2e
def test_metadata_and_assume_role_calls_are_observed_at_account_level() -> None:
    with sts_simulator(lifetime=600) as (sim, _):
        accounts = [
            instance_account("both", assume_role={"role_urn": ROLE_URN}),
            instance_account("refused", instance_role="nobody"),
        ]
        stats = Stats()
        engine = Engine(config.parse(sts_config(sim, accounts), env={}), stats=stats)
        try:
            assert errors(engine) == [None, "credentials"]
        finally:
            engine.close()
    counted = stats.snapshot()
    assert counted.account_requests[("both", "MetadataSecurityCredentials")] >= 1
    assert counted.account_requests[("both", "AssumeRole")] >= 1
    assert ("both", "MetadataSecurityCredentials", "refused") not in counted.account_errors
    assert counted.account_errors[("refused", "MetadataSecurityCredentials", "refused")] >= 1
    assert {key[3] for key in counted.requests} == {"GetImageBucketList"}
    assert all(all(part for part in key) for key in counted.requests)  # no region="" ...
