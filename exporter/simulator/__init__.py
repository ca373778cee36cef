"""A faithful simulated UCloud API gateway (GetImageBucketList, GetRegion) for tests and demos.

Standard library only. Typical use::

    with Simulator(demo_fleet()) as sim:
        ...  # point a client at sim.url
"""

from __future__ import annotations

from exporter.simulator.faults import Fault
from exporter.simulator.fleet import (
    DEMO_ACCOUNTS,
    DEMO_PROJECT,
    FIXED_EPOCH,
    GOLDEN_PRIVATE_KEY,
    GOLDEN_PROJECT,
    GOLDEN_PUBLIC_KEY,
    REGION_IDS,
    demo_fleet,
    golden_fleet,
    region_id,
    synthetic_fleet,
)
from exporter.simulator.fleetfile import fleet_from_dict, load_fleet
from exporter.simulator.model import Account, Bucket, Fleet, Quirks
from exporter.simulator.server import Simulator
from exporter.simulator.signing import sign

__all__ = [
    "DEMO_ACCOUNTS",
    "DEMO_PROJECT",
    "FIXED_EPOCH",
    "GOLDEN_PRIVATE_KEY",
    "GOLDEN_PROJECT",
    "GOLDEN_PUBLIC_KEY",
    "REGION_IDS",
    "Account",
    "Bucket",
    "Fault",
    "Fleet",
    "Quirks",
    "Simulator",
    "demo_fleet",
    "fleet_from_dict",
    "golden_fleet",
    "load_fleet",
    "region_id",
    "sign",
    "synthetic_fleet",
]
