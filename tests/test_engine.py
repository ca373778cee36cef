"""Engine behaviour that needs no network: overruns, close."""

from __future__ import annotations

import time

import httpx

from exporter.config import Account, CollectSettings, Config, Secret, UCloudSettings
from exporter.engine import Engine
from exporter.ucloud import UCloudClient


def config() -> Config:
    account = Account(name="a", public_key="p", private_key=Secret("s"), project_id=None,
                      regions=("cn-bj2", "hk"))
    return Config(ucloud=UCloudSettings(base_url="https://api.example/"),
                  collect=CollectSettings(), accounts=(account,))


def test_starved_loop_still_answers_in_time_with_every_target_failed():
    def hog(request: httpx.Request) -> httpx.Response:
        time.sleep(1.5)  # blocks the event loop, like CPU-bound work on a starved machine
        return httpx.Response(200, json={"RetCode": 0, "TotalCount": 0, "ImageSet": []})

    cfg = config()
    engine = Engine(cfg, client=UCloudClient(cfg.ucloud, transport=httpx.MockTransport(hog)))
    try:
        started = time.monotonic()
        results = engine.collect(timeout=0.3)
        elapsed = time.monotonic() - started
        assert [(r.region, r.ok, r.error and r.error.reason) for r in results] == [
            ("cn-bj2", False, "deadline"), ("hk", False, "deadline")]
        assert elapsed < 1.2  # did not wait for the hog to finish
    finally:
        engine.close(wait=5)
