"""Case 9: what one UHub refresh costs (issue 15): calls per action at each ``tag_counts`` mode.

One account with 8 repositories of 500 images (UHub's repository limit) in the simulator;
one refresh per mode with the default page size. The simulator counts the calls; the bound is
what the listing needs: one page per type for ``GetRepo``, ``ceil(500 / page)`` pages per
repository for ``GetRepoImage``, and one ``GetImageTag`` per selected image.

A last row (issue 20) lists 8 repositories of 75,000 generated images each (600,000) with
``uhub.max_images`` at 8 x 500: the refresh costs the pages of the cap, not of the registry.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass

from benchmarks.harness import PRIVATE_KEY, PUBLIC_KEY
from benchmarks.report import Table
from exporter.config import Account, Secret, UCloudSettings, UHubSettings
from exporter.simulator import Account as SimAccount
from exporter.simulator import Fleet, GeneratedImages, Repo, Simulator, uhub_repos
from exporter.ucloud import Registry, UCloudClient, list_registry

MODES = ("off", "top", "all")
ACTIONS = ("GetRepo", "GetRepoImage", "GetImageTag")


@dataclass(frozen=True)
class Plan:
    """Registry size and settings of the case."""

    repos: int
    images: int  # per repository
    page_size: int
    top: int  # tag_counts_top


FULL = Plan(repos=8, images=500, page_size=100, top=50)
QUICK = Plan(repos=2, images=30, page_size=10, top=5)
HUGE = 75_000  # images per repository of the capped row (quick: 10 x plan.images)


def run(plan: Plan) -> Table:
    """Refresh once per mode and count the calls of each action."""
    table = Table(
        "uhub",
        f"UHub: calls per refresh, {plan.repos} repos x {plan.images} images, "
        f"page_size {plan.page_size}, tag_counts_top {plan.top}",
        ("tag_counts", *ACTIONS, "total", "bound", "holds", "seconds", "tags_counted"),
    )
    repos = uhub_repos(repos=plan.repos, images=plan.images)
    fleet = Fleet([SimAccount(public_key=PUBLIC_KEY, private_key=PRIVATE_KEY, repos=repos)])
    account = Account(
        name="bench",
        public_key=PUBLIC_KEY,
        private_key=Secret(PRIVATE_KEY),
        project_id=None,
        regions=(),
        uhub=True,
    )
    with Simulator(fleet) as sim:
        settings = UCloudSettings(base_url=sim.url, page_size=plan.page_size)
        for mode in MODES:
            uhub = UHubSettings(tag_counts=mode, tag_counts_top=plan.top)
            sim.reset_counts()
            started = time.monotonic()
            registry = asyncio.run(_refresh(settings, account, uhub))
            seconds = time.monotonic() - started
            calls = [sim.request_count(action=a) for a in ACTIONS]
            bound = _bound(plan, mode)
            tagged = sum(i.tags is not None for i in registry.images)
            table.add(mode, *calls, sum(calls), bound, sum(calls) <= bound, seconds, tagged)
    _capped(table, plan, account)
    table.notes += [
        "A scrape makes no UHub call: the refresh runs in the background every "
        "uhub.refresh_seconds (tests/test_uhub_e2e.py counts the calls of a live exporter).",
        "GetRepo is asked once per type (private, public); the simulator splits the repos "
        "between them.",
    ]
    return table


def _capped(table: Table, plan: Plan, account: Account) -> None:
    """Add the row of a registry far beyond ``uhub.max_images`` (= repos x images)."""
    cap, per_repo = plan.repos * plan.images, HUGE if plan is FULL else 10 * plan.images
    repos = [Repo(f"repo-{k:02d}", 0, 0, images=GeneratedImages(per_repo, 0, 0))
             for k in range(plan.repos)]  # fmt: skip
    fleet = Fleet([SimAccount(public_key=PUBLIC_KEY, private_key=PRIVATE_KEY, repos=repos)])
    with Simulator(fleet) as sim:
        settings = UCloudSettings(base_url=sim.url, page_size=plan.page_size)
        started = time.monotonic()
        uhub = UHubSettings(tag_counts="off", max_images=cap)
        registry = asyncio.run(_refresh(settings, account, uhub))
        seconds = time.monotonic() - started
        calls = [sim.request_count(action=a) for a in ACTIONS]
    bound = 2 + math.ceil(cap / plan.page_size) + plan.repos  # a short page per repository
    label = f"off, {plan.repos * per_repo} images, max_images {cap}"
    holds = sum(calls) <= bound and len(registry.images) == cap and bool(registry.truncated)
    table.add(label, *calls, sum(calls), bound, holds, seconds, 0)


def _bound(plan: Plan, mode: str) -> int:
    tags = {"off": 0, "top": min(plan.top, plan.repos * plan.images)}
    selected = tags.get(mode, plan.repos * plan.images)
    return 2 + plan.repos * math.ceil(plan.images / plan.page_size) + selected


async def _refresh(settings: UCloudSettings, account: Account, uhub: UHubSettings) -> Registry:
    client = UCloudClient(settings)
    try:
        return await list_registry(
            client,
            account,
            uhub,
            deadline=time.monotonic() + 300,
            observe=lambda *_: None,
        )
    finally:
        await client.aclose()
