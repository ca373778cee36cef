"""What the in-process tests share: one account, hypothesis settings, a listing over a mock."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
from hypothesis import HealthCheck, settings

from exporter.config import Account, Secret, UCloudSettings
from exporter.ucloud import Listing, UCloudClient, list_image_buckets

#: An account with one region "r", for listings against ``httpx.MockTransport``.
ACCOUNT = Account(
    name="a", public_key="pub", private_key=Secret("priv"), project_id=None, regions=("r",)
)
#: Bounded examples, no per-example deadline (the machine is shared).
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def list_over(
    answer: Callable[[httpx.Request], Any], *, budget: float = 10.0, **options: Any
) -> Listing:
    """List ``ACCOUNT``'s region through a client answered by ``answer`` (sync or async).

    ``options`` are ``UCloudSettings`` fields; a ``UCloudError`` propagates.
    """
    ucloud = UCloudSettings(**{"base_url": "https://api.example/", **options})

    async def go() -> Listing:
        client = UCloudClient(ucloud, transport=httpx.MockTransport(answer))
        try:
            return await list_image_buckets(
                client,
                ACCOUNT,
                "r",
                deadline=time.monotonic() + budget,
                observe=lambda action, reason: None,
            )
        finally:
            await client.aclose()

    return asyncio.run(go())
