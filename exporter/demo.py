"""Demo mode: the embedded simulator with a believable fleet, and a config pointing at it."""

from __future__ import annotations

from exporter.config import Account, CollectSettings, Config, Secret, UCloudSettings
from exporter.simulator import DEMO_ACCOUNTS, DEMO_PROJECT, Simulator, demo_fleet


def start_simulator() -> Simulator:
    """Start the simulated UCloud API on a free loopback port, image counts drifting."""
    return Simulator(demo_fleet(), drift=True).start()


def demo_config(base_url: str) -> Config:
    """Return a config that lists every demo account and region at ``base_url``."""
    accounts = tuple(
        Account(name=name, public_key=public, private_key=Secret(private),
                project_id=DEMO_PROJECT, regions=regions)
        for name, public, private, regions in DEMO_ACCOUNTS
    )
    return Config(ucloud=UCloudSettings(base_url=base_url, page_size=50),
                  collect=CollectSettings(), accounts=accounts)
