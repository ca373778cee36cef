"""The image actions' test helpers (GetDockerImageList, DescribeImage): a simulator serving a
fleet of one golden account, a signed request, a walk through every page and a fleet file of
the golden account's cn-bj2."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from exporter.simulator import (
    GOLDEN_PRIVATE_KEY,
    GOLDEN_PROJECT,
    GOLDEN_PUBLIC_KEY,
    Account,
    Fleet,
    Simulator,
)
from tests.support.gateway import TLS, post, signed


@contextmanager
def serving(account: Account | Fleet) -> Iterator[tuple[Simulator, httpx.Client]]:
    """Serve ``account`` (or a whole fleet) and yield the simulator and a client of it."""
    fleet = account if isinstance(account, Fleet) else Fleet([account])
    with Simulator(fleet) as sim, httpx.Client(base_url=sim.url, timeout=5, verify=TLS) as http:
        yield sim, http


def ask(
    client: httpx.Client,
    action: str,
    *,
    keys: tuple[str, str] = (GOLDEN_PUBLIC_KEY, GOLDEN_PRIVATE_KEY),
    **params: Any,
) -> dict[str, Any]:
    """Send a request signed with ``keys`` (public, private; default the golden account's);
    return the JSON answer."""
    form = {"Action": action, "PublicKey": keys[0], **{k: str(v) for k, v in params.items()}}
    return post(client, signed(form, private_key=keys[1]))


def walk(client: httpx.Client, action: str, *, limit: int, **params: Any) -> list[Any]:
    """Page through ``ImageSet`` by ``Offset`` until ``TotalCount``; return every item."""
    items: list[Any] = []
    for _ in range(10_000):
        body = ask(client, action, Offset=len(items), Limit=limit, **params)
        assert body["RetCode"] == 0, body
        items += body["ImageSet"]
        if not body["ImageSet"] or len(items) >= body["TotalCount"]:
            return items
    raise AssertionError("ImageSet never ended")


def fleet_file(**region: Any) -> dict[str, Any]:
    """A parsed fleet file: the golden account (project ``GOLDEN_PROJECT``), its cn-bj2 given
    by ``region``'s keys."""
    keys = {"public_key": GOLDEN_PUBLIC_KEY, "private_key": GOLDEN_PRIVATE_KEY}
    return {"accounts": [{**keys, "projects": [GOLDEN_PROJECT], "regions": {"cn-bj2": region}}]}
