"""UHub as a background source: each project's registry of each account with ``uhub: true``.

UHub's API takes ``ProjectId``, so each project of an account has a registry. An account's
registries are listed when the engine starts and then every ``uhub.refresh_seconds``, by the
shared mechanism of ``exporter.sources.refresh``. A failed refresh sets the project's
``ucloud_uhub_up`` to 0 and keeps serving the last registry that was listed successfully until
it is older than ``uhub.max_data_age_seconds`` (its age shows in
``ucloud_uhub_last_success_timestamp_seconds``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace

from exporter.config import Account, Config
from exporter.results import project_param
from exporter.sources.refresh import Call, Key, Projects, Source, SourceBook, SourceState
from exporter.stats import Stats
from exporter.ucloud import Registry, UCloudClient, list_registry

log = logging.getLogger(__name__)
#: What the scrape shows of one project's registry (its ``data``).
UHubState = SourceState[Registry]


class UHubSource(Source[Registry]):
    """The UHub registries: listed with ``list_registry`` (GetRepo, GetRepoImage, tags)."""

    title = "UHub"
    log = log

    def enabled(self, account: Account) -> bool:
        return account.uhub

    def interval(self, config: Config) -> float:
        return config.uhub.refresh_seconds

    def max_data_age(self, config: Config) -> float:
        return config.uhub.max_data_age_seconds

    def identity(self, account: Account) -> tuple[object, ...]:
        """What makes an account's registries the same ones across a reload."""
        return (*account.key_source, account.projects, account.discover_projects)

    def listing(self, config: Config) -> tuple[object, ...]:
        """The settings that shape a listed registry: the ``uhub`` section but the interval and
        the age (they only schedule and serve it), and the gateway."""
        shape = replace(config.uhub, refresh_seconds=0.0, max_data_age_seconds=0.0)
        return (config.ucloud.base_url, shape)

    async def fetch(self, call: Call[Registry], account: Account, project: str) -> Registry:
        """List the project's registry, keeping at most what ``uhub.max_images`` (per account)
        leaves after the images the account's other projects hold."""
        settings = call.config.uhub
        held = sum(len(r.images) for r in call.siblings)
        return await list_registry(
            call.client,
            account,
            replace(settings, max_images=max(0, settings.max_images - held)),
            deadline=call.deadline,
            observe=call.observe,
            project=project_param(project),
        )

    def fetched(
        self, stats: Stats, config: Config, key: Key, data: Registry, old: Registry | None
    ) -> None:
        """Log an inconsistent listing; count oddities and truncation, logging a truncation
        once (not on every refresh) and when the registry fits again."""
        own = key[:2]  # UHub's states are per (account, project): no region
        where = {"account": key[0], "project": key[1]}
        if data.inconsistencies:
            log.warning(
                "UHub listing was inconsistent: %s",
                ", ".join(sorted(data.inconsistencies)),
                extra=where,
            )
        stats.record_oddities(own, data)
        was = old is not None and bool(old.truncated)
        for kind in sorted(data.truncated):
            stats.record_truncation(*own, kind)
        if data.truncated and not was:
            why = ",".join(sorted(data.truncated))
            log.warning(
                "UHub registry too large (%s): only its first %d images are kept "
                "(uhub.max_images %d); logged again only after it fits",
                why,
                len(data.images),
                config.uhub.max_images,
                extra={**where, "reason": why},
            )
        elif not data.truncated and was:
            log.info("UHub registry fits again: kept whole", extra=where)


UHUB = UHubSource()


class UHubBook(SourceBook[Registry]):
    """The UHub source's book: ``SourceBook(UHUB, ...)``."""

    def __init__(
        self,
        client: UCloudClient,
        config: Config,
        stats: Stats,
        projects: Projects,
        *,
        previous: Iterable[UHubState] = (),
    ) -> None:
        super().__init__(UHUB, client, config, stats, projects, previous=previous)
