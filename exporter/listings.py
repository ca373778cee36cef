"""List one target into a Result (the engine runs this once per target at a time)."""

from __future__ import annotations

import logging
import time

from exporter.config import Config
from exporter.results import InternalError, Result, Target
from exporter.stats import Stats
from exporter.ucloud import UCloudClient, UCloudError, as_columns, list_image_buckets

log = logging.getLogger(__name__)


async def list_target(
    client: UCloudClient, config: Config, stats: Stats, target: Target, deadline: float
) -> Result:
    """List ``target``'s buckets by ``deadline``; a failure (or a bug) is its Result's error."""
    account, project, region = target.key
    started = time.monotonic()
    listing = None
    try:
        listing = await list_image_buckets(
            client,
            target.account,
            region,
            deadline=deadline,
            observe=stats.observer(account, target.key),
            project=target.project_param,
        )
    except UCloudError as exc:
        log_failure(target, exc)
        result = Result(
            account, project, region, None, time.monotonic() - started, time.monotonic(), exc
        )
    except Exception as exc:  # a bug must cost one target, not the scrape
        log.exception(
            "listing crashed", extra={"account": account, "project": project, "region": region}
        )
        error = InternalError(f"internal error: {exc!r:.200}")
        result = Result(
            account, project, region, None, time.monotonic() - started, time.monotonic(), error
        )
    else:
        if listing.inconsistencies:
            log.warning(
                "listing was inconsistent: %s",
                ", ".join(sorted(listing.inconsistencies)),
                extra={"account": account, "project": project, "region": region},
            )
        chosen, buckets = config.collect, as_columns(listing.buckets)
        wanted = (
            buckets.select(lambda name: chosen.wants(name or ""))
            if chosen.include_buckets or chosen.exclude_buckets
            else buckets  # no filter: skip a call per bucket
        )
        result = Result(
            account, project, region, wanted, time.monotonic() - started, time.monotonic()
        )
    stats.record(target.key, ok=result.ok, listing=listing)
    return result


def log_failure(target: Target, error: UCloudError) -> None:
    """Log one failed target listing, with its account, region, action, reason and the
    gateway's request id (when it sent one)."""
    log.warning(
        "target listing failed: %s",
        error,
        extra={
            "account": target.account.name,
            "project": target.project,
            "region": target.region,
            "action": error.action or "GetImageBucketList",
            **error.log_fields(),
        },
    )
