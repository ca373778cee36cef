"""The gateway's X-UCLOUD-REQUEST-UUID in the log line of every failure it answered: bucket
listings, GetRegion discovery and UHub refreshes, in process and from the real exporter."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
import time
import uuid

import httpx
import pytest

from exporter import config, metrics
from exporter.discovery import RegionBook
from exporter.listings import list_target
from exporter.results import Target
from exporter.simulator import Simulator, golden_fleet
from exporter.sources.uhub import UHubBook
from exporter.stats import Stats
from exporter.ucloud import DecodeError, UCloudClient
from tests.support.faultrig import assert_failed, scrape
from tests.support.inprocess import ACCOUNT, configured_projects, list_over
from tests.support.procs import Exporter, config_for, golden_account, wait_until

HEADER = "X-UCLOUD-REQUEST-UUID"
GATEWAY_ID = "3f1c2a9e-7b4d-4c1e-9a55-0d6e8f2b7c11"
SETTINGS = config.UCloudSettings(base_url="https://api.example/", retries=0)
FAILURES = {
    "retcode": (200, b'{"RetCode": 171, "Message": "signature error"}', "retcode_171"),
    "status": (503, b"Service Unavailable", "http_503"),
    "decode": (200, b"<html>not json</html>", "decode"),
    "shape": (200, b'{"RetCode": 0, "ImageSet": 5}', "decode"),  # refused by the page parser
}
UUID4 = re.compile(r"request_id=([0-9a-f-]{36})\b")


def gateway(status: int, body: bytes, request_id: str | None) -> httpx.MockTransport:
    """A gateway answering every request alike, with the request id header when given."""
    headers = {HEADER: request_id} if request_id is not None else {}
    return httpx.MockTransport(lambda _: httpx.Response(status, content=body, headers=headers))


def logged(caplog: pytest.LogCaptureFixture, logger: str) -> logging.LogRecord:
    """Return the one warning ``logger`` wrote."""
    records = [r for r in caplog.records if r.name == logger and r.levelno == logging.WARNING]
    assert len(records) == 1, [r.getMessage() for r in caplog.records]
    return records[0]


def parsed(**extra: object) -> config.Config:
    """Return a config of ACCOUNT's name and region (plus ``extra`` on the account)."""
    account = {"name": "a", "public_key": "p", "private_key": "s", "regions": ["r"], **extra}
    return config.parse({"accounts": [account]}, source="c.yaml", env={})


def listing_failure(transport: httpx.MockTransport) -> str:
    """List ACCOUNT's region through ``transport``; return the failure's reason."""
    cfg = parsed()

    async def go() -> str:
        client = UCloudClient(SETTINGS, transport=transport)
        try:
            target = Target(ACCOUNT, "default", "r")
            result = await list_target(client, cfg, Stats(), target, time.monotonic() + 5)
        finally:
            await client.aclose()
        assert result.error is not None
        return result.error.reason

    return asyncio.run(go())


@pytest.mark.parametrize("sent", [GATEWAY_ID, None, ""])  # a header, none, an empty one
@pytest.mark.parametrize("kind", sorted(FAILURES))
def test_a_failed_listing_logs_the_gateway_s_request_id_if_it_sent_one(
    caplog: pytest.LogCaptureFixture, kind: str, sent: str | None
) -> None:
    status, body, reason = FAILURES[kind]
    with caplog.at_level(logging.WARNING, logger="exporter.listings"):
        assert listing_failure(gateway(status, body, sent)) == reason
    record = logged(caplog, "exporter.listings")
    assert record.__dict__.get("request_id", "no field") == (sent or "no field")
    assert record.__dict__["reason"] == reason


@pytest.mark.parametrize(
    ("headers", "options"),
    [
        ({"Content-Encoding": "gzip"}, {}),  # a body that is not gzip
        ({}, {"max_response_bytes": 1024}),  # a body over the cap
    ],
)
def test_a_body_that_cannot_be_read_carries_the_request_id(
    headers: dict[str, str], options: dict[str, int]
) -> None:
    def answer(_: httpx.Request) -> httpx.Response:
        body = httpx.ByteStream(b"x" * 2048)  # a stream: read by the client, not here
        return httpx.Response(200, stream=body, headers={HEADER: GATEWAY_ID, **headers})

    with pytest.raises(DecodeError) as info:
        list_over(answer, retries=0, **options)
    assert info.value.request_id == GATEWAY_ID


def test_a_failed_discovery_logs_the_gateway_s_request_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    account = dataclasses.replace(ACCOUNT, regions=(), discover_regions=True)

    async def go() -> None:
        client = UCloudClient(SETTINGS, transport=gateway(*FAILURES["retcode"][:2], GATEWAY_ID))
        try:
            book = RegionBook(client, refresh_seconds=60)
            await book.regions(account, deadline=time.monotonic() + 5, observe=lambda *_: None)
        finally:
            await client.aclose()

    with caplog.at_level(logging.WARNING, logger="exporter.discovery"):
        asyncio.run(go())
    record = logged(caplog, "exporter.discovery")
    assert record.__dict__["request_id"] == GATEWAY_ID
    assert record.__dict__["action"] == "GetRegion"


def test_a_failed_uhub_refresh_logs_the_gateway_s_request_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    cfg = parsed(uhub=True)

    async def go() -> str | None:
        client = UCloudClient(SETTINGS, transport=gateway(*FAILURES["status"][:2], GATEWAY_ID))
        try:
            book = UHubBook(client, cfg, Stats(), configured_projects)
            return (await book.refresh(cfg.accounts[0], "default")).reason
        finally:
            await client.aclose()

    with caplog.at_level(logging.WARNING, logger="exporter.sources.uhub"):
        assert asyncio.run(go()) == "http_503"
    record = logged(caplog, "exporter.sources.uhub")
    assert record.__dict__["request_id"] == GATEWAY_ID
    assert record.__dict__["action"] == "GetRepo"


@pytest.mark.e2e
def test_the_exporter_logs_the_simulator_s_request_id_for_an_unknown_region(tmp_path) -> None:
    with Simulator(golden_fleet()) as sim:
        account = golden_account(regions=["cn-bj2", "xx-nowhere"])
        exp = Exporter(tmp_path, config_for(sim.url, [account]))
        try:
            m = scrape(exp)
            assert_failed(m, "golden", "xx-nowhere", "retcode_230")
            assert m.get(metrics.UP.name, account="golden", region="cn-bj2") == 1
            assert wait_until(lambda: "xx-nowhere" in exp.logs())
        finally:
            assert exp.stop() == 0
    lines = [ln for ln in exp.logs().splitlines() if "target listing failed" in ln]
    assert len(lines) == 1 and "region=xx-nowhere reason=retcode_230" in lines[0], lines
    found = UUID4.search(lines[0])
    assert found is not None and uuid.UUID(found[1]).version == 4, lines[0]
    assert "Params [Region] not valid" in lines[0]
    assert "request_id" not in m.text and found[1] not in m.text  # never a label
