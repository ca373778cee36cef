"""Read one target's state from an in-process app's answers (the empty-interval tests)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from exporter.simulator import GOLDEN_PROJECT, Simulator
from tests.support.asgi import Scraper
from tests.support.procs import config_for, golden_account, samples, value

LISTING = "GetImageBucketList"


@dataclass(frozen=True)
class Seen:
    """What one answer says of one golden target, and the listings it has cost so far."""

    up: float | None
    last_success: float | None
    listings: int
    buckets: frozenset[str]


def seen(app: Scraper, simulator: Simulator, region: str, *, probe: bool = False) -> Seen:
    """GET /metrics (or /probe of the golden target in ``region``); return what it says of
    that target, and the simulator's count of its listing requests after the answer."""
    if probe:
        query = f"account=golden&project={GOLDEN_PROJECT}&region={region}"
        answer = app.get("/probe", query=query)
    else:
        answer = app.get()
    assert answer.status == 200, answer.text
    parsed = samples(answer.text)
    at = {"account": "golden", "region": region}
    return Seen(
        value(parsed, "ucloud_image_bucket_up", **at),
        value(parsed, "ucloud_image_bucket_last_success_timestamp_seconds", **at),
        simulator.request_count(action=LISTING, region=region),
        frozenset(
            dict(labels)["bucket"]
            for name, labels in parsed
            if name == "ucloud_image_bucket_images" and dict(labels).get("region") == region
        ),
    )


def config_file(workdir: Path, **collect: Any) -> Path:
    """Write a golden config whose ``collect`` section is exactly ``collect``; return its path
    (nothing listens at its gateway: for loading only)."""
    cfg = config_for("http://127.0.0.1:9/", [golden_account()])
    cfg["collect"] = collect
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path
