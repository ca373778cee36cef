"""Accounts on temporary keys against the simulator: its STS, and the config entries."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from typing import Any

from exporter.config import Account, UCloudSettings
from exporter.credentials import AssumeRole, Key
from exporter.simulator import (
    GOLDEN_PRIVATE_KEY,
    GOLDEN_PROJECT,
    GOLDEN_PUBLIC_KEY,
    STS,
    Simulator,
    golden_fleet,
)
from exporter.ucloud import UCloudClient, assume_role

ROLE = "image-reader"
ROLE_URN = "ucs:iam::100:role/image-reader"


@contextlib.contextmanager
def sts_simulator(
    *, lifetime: float = 3.0, v1_only: bool = False
) -> Iterator[tuple[Simulator, STS]]:
    """Serve the golden fleet with an STS: instance roles "" and ROLE, AssumeRole's ROLE_URN,
    keys valid ``lifetime`` seconds."""
    fleet = golden_fleet()
    sts = STS(
        fleet,
        roles={"": GOLDEN_PUBLIC_KEY, ROLE: GOLDEN_PUBLIC_KEY},
        role_urns={ROLE_URN: GOLDEN_PUBLIC_KEY},
        lifetime=lifetime,
        v1_only=v1_only,
    )
    with Simulator(fleet, sts=sts) as sim:
        yield sim, sts


def instance_account(name: str = "inst", **overrides: Any) -> dict[str, Any]:
    """A config entry on the simulator's instance role ROLE (cn-bj2 only)."""
    return {
        "name": name,
        "instance_role": ROLE,
        "project_id": GOLDEN_PROJECT,
        "regions": ["cn-bj2"],
        **overrides,
    }


def assuming_account(name: str = "assumer", **overrides: Any) -> dict[str, Any]:
    """A config entry on the golden keys that assumes ROLE_URN (cn-bj2 only)."""
    return {
        "name": name,
        "public_key": GOLDEN_PUBLIC_KEY,
        "private_key": GOLDEN_PRIVATE_KEY,
        "assume_role": {"role_urn": ROLE_URN},
        "project_id": GOLDEN_PROJECT,
        "regions": ["cn-bj2"],
        **overrides,
    }


def sts_config(sim: Simulator, accounts: list[dict[str, Any]], **ucloud: Any) -> dict[str, Any]:
    """A config for ``accounts`` on ``sim``'s gateway and metadata service."""
    return {
        "ucloud": {
            "base_url": sim.url,
            "metadata_url": sim.url.rstrip("/"),
            "timeout_seconds": 2,
            "retries": 0,
            **ucloud,
        },
        "accounts": accounts,
    }


def assumed(url: str, account: Account, role: AssumeRole) -> Key:
    """AssumeRole ``role`` at gateway ``url`` with our client, signed with ``account``'s keys
    (no retries); a UCloudError propagates."""

    async def go() -> Key:
        client = UCloudClient(UCloudSettings(base_url=url, retries=0))
        try:
            return await assume_role(
                client,
                account,
                role,
                key=Key(account.public_key, account.private_key),
                deadline=time.monotonic() + 10,
                observe=lambda action, reason: None,
            )
        finally:
            await client.aclose()

    return asyncio.run(go())
