"""The fault rig: two accounts, four targets, and the scrape checks the fault tests share.

victim cn-bj2 is the target faults hit; the three others must stay whole. Used by the fault,
deadline and secrets tests.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

from exporter import metrics
from exporter.simulator import Account as SimAccount
from exporter.simulator import Bucket, Fleet
from tests.support.procs import Exporter, config_for, value

VICTIM_KEY, BYSTANDER_KEY = "victim-public-key", "bystander-public-key"
VICTIM_SECRET = "victim-PRIVATE-do-not-leak-7f3a9c"
BYSTANDER_SECRET = "bystander-PRIVATE-do-not-leak-c41d"
TARGETS = (("victim", "cn-bj2"), ("victim", "cn-sh2"), ("bystander", "cn-bj2"), ("bystander", "hk"))
KEYS = {"victim": VICTIM_KEY, "bystander": BYSTANDER_KEY}
TIMEOUT, RETRIES, HEADER = 1.0, 1, 10.0
BUDGET = HEADER - 0.5  # the default --web.timeout-offset
Key = tuple[str, frozenset[tuple[str, str]]]


def region(prefix: str, n: int) -> list[Bucket]:
    """Return ``n`` buckets, alternately private and public, with distinct counts."""
    return [
        Bucket(
            f"{prefix}/app-{i}", "Public" if i % 3 == 0 else "Private", 10 + i, 1_600_000_000 + i
        )
        for i in range(n)
    ]


def fault_fleet() -> Fleet:
    """Two accounts, four targets: victim cn-bj2 has 7 buckets (4 pages of 2)."""
    return Fleet(
        [
            SimAccount(
                VICTIM_KEY,
                VICTIM_SECRET,
                set(),
                {"cn-bj2": region("victim-bj2", 7), "cn-sh2": region("victim-sh2", 3)},
            ),
            SimAccount(
                BYSTANDER_KEY,
                BYSTANDER_SECRET,
                set(),
                {"cn-bj2": region("bystander-bj2", 5), "hk": []},
            ),
        ]
    )


def accounts() -> list[dict[str, object]]:
    """Return the config entries of both accounts."""
    return [
        {
            "name": "victim",
            "public_key": VICTIM_KEY,
            "private_key": VICTIM_SECRET,
            "regions": ["cn-bj2", "cn-sh2"],
        },
        {
            "name": "bystander",
            "public_key": BYSTANDER_KEY,
            "private_key": BYSTANDER_SECRET,
            "regions": ["cn-bj2", "hk"],
        },
    ]


def fault_config(base_url: str) -> dict[str, object]:
    """Return the exporter config for the fault rig."""
    return config_for(
        base_url,
        accounts(),
        ucloud={"timeout_seconds": TIMEOUT, "retries": RETRIES, "page_size": 2},
    )


@dataclass
class Scrape:
    """One parsed exposition and how long it took."""

    text: str
    seconds: float
    samples: dict[Key, float]
    keys: list[Key]

    def get(self, name: str, **labels: str) -> float | None:
        """Return one sample's value, None when absent (any project: see ``procs.value``)."""
        found: float | None = value(self.samples, name, **labels)
        return found

    def series(
        self, name: str, account: str, region: str
    ) -> dict[frozenset[tuple[str, str]], float]:
        """Return the samples of ``name`` for one target, keyed by labels but ``project``
        (each of the rig's accounts has one project)."""
        return {
            frozenset((k, v) for k, v in labels if k != "project"): v
            for (n, labels), v in self.samples.items()
            if n == name and ("account", account) in labels and ("region", region) in labels
        }

    def errors(self, account: str, region: str) -> Counter[str]:
        """Return api_errors_total of one target by reason."""
        return Counter(
            {
                dict(labels)["reason"]: int(v)
                for labels, v in self.series(metrics.API_ERRORS.name, account, region).items()
            }
        )


def scrape(exp: Exporter, header: float = HEADER) -> Scrape:
    """GET /metrics with Prometheus's timeout header; parse it."""
    started = time.monotonic()
    response = exp.get("/metrics", headers={"X-Prometheus-Scrape-Timeout-Seconds": str(header)})
    seconds = time.monotonic() - started
    assert response.status_code == 200
    parsed = [
        (s.name, frozenset(s.labels.items()), s.value)
        for fam in text_string_to_metric_families(response.text)
        for s in fam.samples
    ]
    return Scrape(
        response.text,
        seconds,
        {(n, labels): v for n, labels, v in parsed},
        [(n, labels) for n, labels, _ in parsed],
    )


def images(m: Scrape, account: str, region: str) -> dict[str, float]:
    """Return {bucket: ImageCount} reported for one target."""
    return {
        dict(labels)["bucket"]: v
        for labels, v in m.series(metrics.IMAGES.name, account, region).items()
    }


def assert_whole(m: Scrape, account: str, region: str, fleet: Fleet) -> None:
    """Assert the target is up and reports exactly the fleet's buckets."""
    want = fleet.buckets(KEYS[account], region)
    assert m.get(metrics.UP.name, account=account, region=region) == 1
    assert images(m, account, region) == {b.name: b.image_count for b in want}
    for kind in ("private", "public"):
        assert m.get(metrics.BUCKETS.name, account=account, region=region, type=kind) == sum(
            1 for b in want if b.type.lower() == kind
        )
    assert not m.series(metrics.ERROR_INFO.name, account, region)


def assert_failed(m: Scrape, account: str, region: str, reason: str) -> None:
    """Assert the target is down for ``reason`` and shows no bucket series at all."""
    assert m.get(metrics.UP.name, account=account, region=region) == 0
    assert set(m.series(metrics.ERROR_INFO.name, account, region)) == {
        frozenset({"account": account, "region": region, "reason": reason}.items())
    }
    for name in (metrics.BUCKETS.name, metrics.IMAGES.name, metrics.CREATED.name):
        assert not m.series(name, account, region), name


def assert_clean(m: Scrape, logs: str) -> None:
    """Assert no duplicate series and no traceback in the exporter's log."""
    duplicates = [k for k, n in Counter(m.keys).items() if n > 1]
    assert not duplicates
    assert "Traceback" not in logs
