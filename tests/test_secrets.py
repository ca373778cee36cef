"""Private keys never appear in anything the exporter, its client or the simulator emits."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import logging
import random
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from exporter import config
from exporter.config import Account, Secret, UCloudSettings
from exporter.credentials import load_profile
from exporter.simulator import Account as SimAccount
from exporter.simulator import Fault, Fleet, Simulator
from exporter.ucloud import UCloudAuth, UCloudClient, UCloudError, list_image_buckets
from tests.support.faultrig import (
    BYSTANDER_SECRET,
    TIMEOUT,
    VICTIM_KEY,
    VICTIM_SECRET,
    fault_config,
    fault_fleet,
)
from tests.support.faults import CASES, Target
from tests.support.metadata import HOSTILE_SECRET, HOSTILE_TOKEN, hostile
from tests.support.procs import Exporter, run_cli, scrape_until
from tests.support.profiles import PROFILE_PUBLIC_KEY, PROFILE_SECRET, write_ucloud_home
from tests.support.temporary import (
    ROLE_URN,
    assuming_account,
    instance_account,
    sts_config,
    sts_simulator,
)

pytestmark = pytest.mark.e2e  # every test here starts a process

SECRETS = (VICTIM_SECRET, BYSTANDER_SECRET)


@pytest.fixture
def simulator_log() -> Iterator[io.StringIO]:
    """Capture the in-process simulator's log at DEBUG, tracebacks included."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    logger = logging.getLogger("exporter.simulator")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield stream
    logger.removeHandler(handler)
    logger.setLevel(old_level)


def exporter_outputs(tmp_path: Path) -> tuple[list[str], Path]:
    """Run the exporter (debug logs) through every fault case; return all it emitted."""
    outputs: list[str] = []
    with Simulator(fault_fleet()) as sim:
        # Both accounts list UHub too: the bystander's succeeds, the victim's fails (logged).
        cfg = fault_config(sim.url)
        for account in cfg["accounts"]:  # type: ignore[attr-defined]
            account["uhub"] = True
        sim.add_fault(Fault(retcode=172, message="bad key"), account=VICTIM_KEY, action="GetRepo")
        exp = Exporter(tmp_path, cfg)
        try:
            refreshed = scrape_until(exp, "ucloud_uhub_up", timeout=10)
            assert any(name == "ucloud_uhub_up" for name, _ in refreshed), "no UHub refresh"
            target = Target(sim, VICTIM_KEY, "cn-bj2", TIMEOUT)
            for case in CASES:
                sim.clear_faults()
                sim.fleet = fault_fleet()
                case.inject(target)
                outputs.append(exp.get("/metrics").text)
            outputs += [
                exp.get("/").text,
                exp.get("/nope").text,
                exp.get(
                    "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
                ).text,
            ]
        finally:
            code = exp.stop()
        outputs.append(exp.logs())
    assert code == 0
    assert "level=debug" in exp.logs() and "target listing failed" in exp.logs()
    assert "UHub refresh failed" in exp.logs()
    return outputs, exp.workdir / "config.yaml"


def config_check_outputs(tmp_path: Path, good: Path) -> list[str]:
    """Return stdout and stderr of --config.check on a good and a bad config."""
    bad = yaml.safe_load(good.read_text())
    bad["ucloud"]["page_size"] = 0
    bad["accounts"].append(dict(bad["accounts"][0], regions=["NOT A REGION"], extra=1))
    bad["accounts"][1]["private_key"] = [BYSTANDER_SECRET]  # wrong type: must not echo it
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(bad))
    ok = run_cli("--config.file", str(good), "--config.check")
    failed = run_cli("--config.file", str(tmp_path / "bad.yaml"), "--config.check")
    assert ok.returncode == 0 and failed.returncode == 1
    return [ok.stdout, ok.stderr, failed.stdout, failed.stderr]


def client_errors() -> list[str]:
    """Raise every UCloudError through the real client; return their str, repr, traceback."""
    account = Account(
        name="victim",
        public_key=VICTIM_KEY,
        private_key=Secret(VICTIM_SECRET),
        project_id="org-1",
        regions=("cn-bj2",),
    )
    answers: list[Callable[[httpx.Request], httpx.Response]] = [
        lambda r: httpx.Response(200, json={"RetCode": 171, "Message": r.content.decode()}),
        lambda r: httpx.Response(503, text=r.content.decode()),
        lambda r: httpx.Response(200, content=b"<html>" + r.content),
        lambda r: httpx.Response(200, json={"RetCode": 0, "TotalCount": r.content.decode()}),
        _raise(httpx.ConnectError("refused")),
        _raise(httpx.ReadTimeout("slow")),
    ]
    texts = []
    for answer in answers:
        texts.append(_describe(_listing_error(account, answer, budget=5)))
    texts.append(_describe(_listing_error(account, _raise(httpx.ReadTimeout("x")), budget=0)))
    settings = UCloudSettings(base_url="http://127.0.0.1:9/")
    cfg = config.Config(ucloud=settings, collect=config.CollectSettings(), accounts=(account,))
    texts += [
        repr(cfg),
        str(cfg),
        repr(account),
        repr(dataclasses.asdict(account)),
        repr(UCloudAuth(VICTIM_KEY, Secret(VICTIM_SECRET))),
        str(account.private_key),
    ]
    return texts


def _raise(exc: Exception) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return handler


def _listing_error(
    account: Account, answer: Callable[[httpx.Request], httpx.Response], *, budget: float
) -> UCloudError:
    settings = UCloudSettings(base_url="https://api.example/", page_size=1, retries=1)

    async def go() -> UCloudError:
        client = UCloudClient(settings, transport=httpx.MockTransport(answer), rng=random.Random(0))
        try:
            await list_image_buckets(
                client,
                account,
                "cn-bj2",
                deadline=time.monotonic() + budget,
                observe=lambda *_: None,
            )
        except UCloudError as exc:
            return exc
        finally:
            await client.aclose()
        raise AssertionError("the listing did not fail")

    return asyncio.run(go())


def _describe(exc: UCloudError) -> str:
    return "\n".join([str(exc), repr(exc), exc.reason, *traceback.format_exception(exc)])


def test_private_keys_appear_nowhere(tmp_path, simulator_log) -> None:
    outputs, good_config = exporter_outputs(tmp_path)
    assert VICTIM_SECRET in good_config.read_text()  # the needle is the one configured
    outputs += config_check_outputs(tmp_path, good_config)
    outputs += client_errors()
    outputs.append(simulator_log.getvalue())
    assert "POST" in simulator_log.getvalue()  # the simulator did log its requests
    assert len(outputs) > len(CASES)
    for text in outputs:
        for secret in SECRETS:
            assert secret not in text, f"private key leaked in:\n{text[:2000]}"


def test_a_profile_private_key_appears_nowhere(tmp_path: Path) -> None:
    """A key read from ucloud-cli's credential file: not in a repr, an error, --config.check
    (good or bad files), the exporter's pages or its debug log while its listings fail."""
    home = tmp_path / "home"
    credential, _ = write_ucloud_home(home)
    env = {"HOME": str(home), "UCLOUD_PROFILE": "default"}
    outputs: list[str] = []
    fleet = Fleet([SimAccount(PROFILE_PUBLIC_KEY, PROFILE_SECRET, set(), {"cn-bj2": []})])
    with Simulator(fleet) as sim:
        write_ucloud_home(home, base_url=sim.url)
        good = {"ucloud": {"base_url": sim.url, "retries": 0}, "accounts": [{"name": "p"}]}
        (tmp_path / "good.yaml").write_text(yaml.safe_dump(good))
        cfg = config.load(tmp_path / "good.yaml", env=env)
        assert cfg.accounts[0].private_key.reveal() == PROFILE_SECRET  # the needle is used
        outputs += [repr(cfg), str(cfg.accounts[0]), repr(load_profile("default", env))]
        sim.add_fault(Fault(retcode=171, message="signature"), account=PROFILE_PUBLIC_KEY)
        exp = Exporter(tmp_path / "run", good, env=env)
        try:
            outputs += [exp.get().text, exp.get("/").text]
        finally:
            assert exp.stop() == 0
        outputs.append(exp.logs())
        assert "target listing failed" in exp.logs()
        ok = run_cli("--config.file", str(tmp_path / "good.yaml"), "--config.check", env=env)
        assert ok.returncode == 0 and "p: profile default" in ok.stdout
        outputs += [ok.stdout, ok.stderr]
    whole = credential.read_text()
    cut = whole[: whole.index(PROFILE_SECRET) + len(PROFILE_SECRET) + 1]  # ends with the secret
    for text in (cut, f'[{{"profile": "default", "private_key": ["{PROFILE_SECRET}"]}}]'):
        credential.write_text(text)
        bad = run_cli("--config.file", str(tmp_path / "good.yaml"), "--config.check", env=env)
        assert bad.returncode == 1 and str(credential) in bad.stderr, bad.stderr
        outputs += [bad.stdout, bad.stderr]
        with pytest.raises(config.ConfigError) as info:
            config.load(tmp_path / "good.yaml", env=env)
        outputs += [str(info.value), repr(info.value), *traceback.format_exception(info.value)]
    for text in outputs:
        assert PROFILE_SECRET not in text, f"profile private key leaked in:\n{text[:2000]}"


def test_temporary_keys_and_tokens_appear_nowhere(tmp_path: Path) -> None:
    """Keys, secrets and tokens from the metadata service (v2 and v1), AssumeRole on top of
    them and of static keys, refreshed several times, and a hostile service's expired key: in
    no page, /-/reload answer, --config.check output or debug log line."""
    accounts = [
        instance_account("inst"),
        instance_account("both", assume_role={"role_urn": ROLE_URN}),
        assuming_account("assumer"),
    ]
    outputs: list[str] = []
    with sts_simulator(lifetime=2) as (sim, sts):
        cfg = sts_config(sim, accounts)
        exp = Exporter(tmp_path / "run", cfg)
        try:
            deadline = time.monotonic() + 6  # three refreshes of 2 s keys at least
            while time.monotonic() < deadline:
                outputs.append(exp.get().text)
                time.sleep(0.5)
            sts.v1_only = True
            time.sleep(2)
            outputs += [exp.get().text, exp.get("/").text]
            outputs.append(httpx.post(exp.url + "/-/reload", timeout=30).text)
        finally:
            assert exp.stop() == 0
        outputs.append(exp.logs())
        assert sts.calls["v1"] >= 1 and sts.calls["AssumeRole"] >= 4
        assert 'credentials_expiry_timestamp_seconds{account="inst"}' in outputs[0]
        needles = sts.issued_material()
    with hostile("expired") as meta:
        bad = {**cfg, "ucloud": {**cfg["ucloud"], "metadata_url": meta.url}}
        exp = Exporter(tmp_path / "hostile", bad)
        try:
            assert scrape_until(exp, "ucloud_image_bucket_up")  # the listings failed
            outputs += [exp.get().text]
        finally:
            assert exp.stop() == 0
        outputs.append(exp.logs())
        assert meta.calls >= 2 and "in the past" in exp.logs()
    path = tmp_path / "check.yaml"
    path.write_text(yaml.safe_dump(cfg))
    check = run_cli("--config.file", str(path), "--config.check")
    assert check.returncode == 0, check.stderr
    outputs += [check.stdout, check.stderr]
    assert len(needles) >= 12
    for text in outputs:
        for needle in [*needles, HOSTILE_SECRET, HOSTILE_TOKEN]:
            assert needle not in text, f"temporary key material leaked in:\n{text[:2000]}"
