"""Custom host (machine) images as a background source (``host_images: true``).

``DescribeImage`` with ``ImageType=Custom`` for each (project, region) target of an account,
one after another every ``host_images.refresh_seconds``; each region is a part of its own
(``per_region``): a failing region keeps its last images and costs no other region, and no
bucket or UHub series. Quotas are not fetched: UCloud documents them per region (the default
table of ``host_images.quotas``), and the collector reads them from the configuration.
"""

from __future__ import annotations

import logging

from exporter import metrics
from exporter.config import Account, Config
from exporter.results import project_param
from exporter.sources.refresh import Call, Key, Source, SourceState
from exporter.stats import Stats
from exporter.ucloud import HostImages, list_host_images

log = logging.getLogger(__name__)
#: What the scrape shows of one region's custom host images.
HostImagesState = SourceState[HostImages]


class HostImagesSource(Source[HostImages]):
    """``DescribeImage ImageType=Custom``, per (account, project, region)."""

    title = "Custom host images"
    log = log
    per_region = True

    def enabled(self, account: Account) -> bool:
        return account.host_images

    def interval(self, config: Config) -> float:
        return config.host_images.refresh_seconds

    def max_data_age(self, config: Config) -> float:
        return config.host_images.max_data_age_seconds

    def identity(self, account: Account) -> tuple[object, ...]:
        """Keys, projects and regions (a quota change needs no relisting: it is read from the
        configuration at each scrape)."""
        return (
            *account.key_source,
            account.projects,
            account.discover_projects,
            account.regions,
            account.discover_regions,
        )

    def listing(self, config: Config) -> tuple[object, ...]:
        return (config.ucloud.base_url,)

    async def fetch(self, call: Call[HostImages], account: Account, project: str) -> HostImages:
        return await list_host_images(
            call.client,
            account,
            call.region,
            project=project_param(project),
            deadline=call.deadline,
            observe=call.observe,
        )

    def fetched(
        self, stats: Stats, config: Config, key: Key, data: HostImages, old: HostImages | None
    ) -> None:
        """Count malformed fields, paging oddities and truncation (logged once, until the
        region fits again)."""
        for name, n in data.invalid.items():
            stats.count(key, metrics.HOST_INVALID_ENTRIES.name, name, n=n)
        for kind in sorted(data.inconsistencies):
            stats.count(key, metrics.HOST_PAGING_INCONSISTENCIES.name, kind)
        where = {"account": key[0], "project": key[1], "region": key[2]}
        if data.truncated:
            stats.count(key, metrics.HOST_TRUNCATED.name)
            if old is None or not old.truncated:
                log.warning(
                    "more than 10000 custom host images: only the first are kept; logged "
                    "again only after the region fits",
                    extra=where,
                )
        elif old is not None and old.truncated:
            log.info("custom host images fit again: kept whole", extra=where)


HOST_IMAGES = HostImagesSource()
