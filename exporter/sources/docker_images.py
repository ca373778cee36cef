"""The images inside image buckets as a background source (``docker_images: true``).

Each refresh of an account takes at most ``docker_images.max_buckets_per_refresh`` of its
buckets, across its projects, in a stable order (project, region, bucket name) that rotates:
the next round starts after the last bucket the previous one reached, so every bucket is
reached in turn however many there are. The cursor is the account's memo (``SourceBook``): a
reload that leaves the account unchanged keeps it. The buckets are those of the exporter's own
bucket listing (``GetImageBucketList``, listed again only when the last one is older than the
interval) that the account's ``buckets`` filter wants; only images its ``images`` filter wants
are kept. A bucket not reached this round keeps the images last listed; one that left the
listing is forgotten; one deleted between the listing and its ``GetDockerImageList`` (RetCode
43023) is forgotten and counted, not failed. A bucket whose call fails keeps its last images and
makes the project's refresh fail (its reason is the first failure's), costing no other bucket.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from exporter import metrics
from exporter.config import Account, Config
from exporter.results import project_param
from exporter.sources.refresh import Call, Key, Source, SourceState
from exporter.stats import Stats
from exporter.ucloud import DockerImage, UCloudError, list_docker_images

log = logging.getLogger(__name__)

#: A bucket of a project: (region, bucket name).
Place = tuple[str, str]


@dataclass(frozen=True, slots=True)
class InsideBuckets:
    """One project's images inside its buckets, as its refreshes left them."""

    #: each bucket's images (those the ``images`` filter wants), by (region, bucket)
    buckets: Mapping[Place, tuple[DockerImage, ...]]
    #: of this refresh: buckets listed, vanished (43023), truncated, and what was odd
    listed: int = 0
    vanished: int = 0
    truncated: int = 0
    invalid: Mapping[str, int] = field(default_factory=dict)
    inconsistencies: Mapping[str, int] = field(default_factory=dict)
    error: UCloudError | None = None  # the first bucket's failure, if any
    failed: int = 0  # buckets whose call failed (they keep their last images)


@dataclass(frozen=True, slots=True)
class Share:
    """One project's part of a round: the regions whose bucket listing answered, the buckets
    it holds that the filter wants, and those to list this round."""

    regions: frozenset[str] = frozenset()
    wanted: frozenset[Place] = frozenset()
    todo: tuple[Place, ...] = ()


def rotation(
    places: Iterable[tuple[str, Place]], after: object, most: int
) -> list[tuple[str, Place]]:
    """Return at most ``most`` of ``places`` (project, (region, bucket)) in sorted order,
    starting after ``after`` (the last one of the previous round) and wrapping around."""
    ordered = sorted(set(places))
    if isinstance(after, tuple):
        start = next((i for i, p in enumerate(ordered) if p > after), 0)
        ordered = ordered[start:] + ordered[:start]
    return ordered[:most]


class DockerImagesSource(Source[InsideBuckets]):
    """``GetDockerImageList`` on the buckets of each project, a rotating share at a time."""

    title = "Images inside buckets"
    log = log

    def enabled(self, account: Account) -> bool:
        return account.docker_images

    def interval(self, config: Config) -> float:
        return config.docker_images.refresh_seconds

    def max_data_age(self, config: Config) -> float:
        return config.docker_images.max_data_age_seconds

    def identity(self, account: Account) -> tuple[object, ...]:
        """Keys, projects, and what decides which buckets and images are kept: the filters
        and the bucket listing's own settings."""
        return (
            *account.key_source,
            account.projects,
            account.discover_projects,
            account.regions,
            account.discover_regions,
            account.bucket_type,
            account.bucket_name,
            account.buckets,
            account.images,
        )

    def listing(self, config: Config) -> tuple[object, ...]:
        """The gateway and the global bucket filters (a change relists every account)."""
        c = config.collect
        return (config.ucloud.base_url, c.include_buckets, c.exclude_buckets)

    async def plan(
        self, call: Call[InsideBuckets], account: Account, projects: tuple[str, ...]
    ) -> dict[str, object]:
        """Choose this round's buckets: each project gets (its buckets now by region, the
        places to list). The cursor moves to the last place chosen."""
        if call.buckets is None:
            raise TypeError("images inside buckets need the engine's bucket listing")
        known = await asyncio.gather(*(call.buckets(account, p, call.deadline) for p in projects))
        places = [
            (project, (region, name))
            for project, regions in zip(projects, known, strict=True)
            for region, names in regions.items()
            for name in names
            if account.buckets.wants(name)
        ]
        most = call.config.docker_images.max_buckets_per_refresh
        chosen = rotation(places, call.memo.get("cursor"), most)
        if chosen:
            call.memo["cursor"] = chosen[-1]
        return {
            project: Share(
                frozenset(regions),
                frozenset(place for p, place in places if p == project),
                tuple(sorted(place for p, place in chosen if p == project)),
            )
            for project, regions in zip(projects, known, strict=True)
        }

    async def fetch(
        self, call: Call[InsideBuckets], account: Account, project: str
    ) -> InsideBuckets:
        """List the planned buckets of ``project`` (a few at a time: the client paces the
        account), keeping the other buckets' last images while they are still listed."""
        share = call.plan if isinstance(call.plan, Share) else Share()
        old = dict(call.old.buckets) if call.old is not None else {}
        # Forget buckets the listing no longer has (in regions whose listing answered).
        kept = {p: v for p, v in old.items() if p in share.wanted or p[0] not in share.regions}
        settings = call.client.settings
        gate = asyncio.Semaphore(max(1, settings.max_concurrent_requests))
        invalid: Counter[str] = Counter()
        odd: Counter[str] = Counter()
        tally = Counter[str]()
        errors: list[UCloudError] = []

        async def one(place: Place) -> None:
            region, bucket = place
            async with gate:
                try:
                    got = await list_docker_images(
                        call.client, account, region, bucket,
                        project=project_param(project), deadline=call.deadline,
                        observe=call.observe,
                    )  # fmt: skip
                except UCloudError as exc:
                    errors.append(exc)
                    tally["failed"] += 1
                    return
            tally["listed"] += 1
            if got.gone:
                tally["vanished"] += 1
                kept.pop(place, None)
                return
            tally["truncated"] += got.truncated
            invalid.update(got.invalid)
            odd.update(got.inconsistencies)
            kept[place] = tuple(i for i in got.images if account.images.wants(i.name))

        await asyncio.gather(*(one(place) for place in share.todo))
        over = _over_cap(kept, call)
        return InsideBuckets(
            {p: v for p, v in kept.items() if p not in over},
            listed=tally["listed"],
            vanished=tally["vanished"],
            truncated=tally["truncated"] + len(over),
            invalid=dict(invalid),
            inconsistencies=dict(odd),
            error=errors[0] if errors else None,
            failed=tally["failed"],
        )

    def failure(self, data: InsideBuckets) -> UCloudError | None:
        return data.error

    def fetched(
        self,
        stats: Stats,
        config: Config,
        key: Key,
        data: InsideBuckets,
        old: InsideBuckets | None,
    ) -> None:
        """Count what the refresh found odd; log vanished and truncated buckets."""
        own = key[:2]
        where = {"account": key[0], "project": key[1]}
        if data.vanished:
            stats.count(own, metrics.DOCKER_VANISHED.name, n=data.vanished)
            log.info(
                "%d buckets were deleted before their images were listed (RetCode 43023)",
                data.vanished,
                extra=where,
            )
        if data.truncated:
            stats.count(own, metrics.DOCKER_TRUNCATED.name, n=data.truncated)
        if data.truncated and not (old is not None and old.truncated):
            log.warning(
                "%d buckets were cut short: more than 10000 images in one, or beyond "
                "docker_images.max_images (%d) held by the account; logged again only "
                "after they fit",
                data.truncated,
                config.docker_images.max_images,
                extra=where,
            )
        elif old is not None and old.truncated and not data.truncated:
            log.info("images inside buckets fit again: kept whole", extra=where)
        for name, n in data.invalid.items():
            stats.count(own, metrics.DOCKER_INVALID_ENTRIES.name, name, n=n)
        for kind, n in data.inconsistencies.items():
            stats.count(own, metrics.DOCKER_PAGING_INCONSISTENCIES.name, kind, n=n)


def _over_cap(
    kept: Mapping[Place, tuple[DockerImage, ...]], call: Call[InsideBuckets]
) -> set[Place]:
    """Return the buckets (last in order) whose images are not kept: those beyond
    ``docker_images.max_images`` held by the account (its other projects' first)."""
    room = call.config.docker_images.max_images - sum(
        len(images) for data in call.siblings for images in data.buckets.values()
    )
    over: set[Place] = set()
    for place in sorted(kept):
        room -= len(kept[place])
        if room < 0:
            over.add(place)
    return over


DOCKER_IMAGES = DockerImagesSource()
#: What the scrape shows of one project's images inside buckets.
DockerImagesState = SourceState[InsideBuckets]
