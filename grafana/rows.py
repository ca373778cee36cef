"""The dashboard's first two rows: overview, buckets and images."""

from __future__ import annotations

import queries as q
from grafana_foundation_sdk.models import dashboard as model
from panels import (
    BUCKET_COLUMNS,
    RED_FROM_1,
    Panel,
    query,
    stat_panel,
    table_panel,
    timeseries_panel,
)

Placed = tuple[Panel, int, int]  # a panel, its width (of 24) and its height


def overview() -> list[Placed]:
    return [
        (
            stat_panel(
                "Exporter scrapes down",
                "Scrape targets of the exporter's job(s) that Prometheus failed to scrape the last "
                "time (1 - up): the exporter itself, or each probe in /probe mode. Red means "
                "the exporter is down and every other panel shows no or old data. 'no scrape "
                "target': Prometheus has no target of a job matching $exporter_jobs.",
                query(q.SCRAPES_DOWN, "down"),
                thresholds=RED_FROM_1,
                no_value="no scrape target",
            ),
            4,
            4,
        ),
        (
            stat_panel(
                "Targets up",
                "Account x project x region targets whose last listing succeeded on at least one "
                "exporter replica (ucloud_image_bucket_up). No data while the exporter is down.",
                query(q.TARGETS_UP, "up"),
            ),
            3,
            4,
        ),
        (
            stat_panel(
                "Targets down",
                "Account x project x region targets whose last listing failed on every replica "
                "(ucloud_image_bucket_up == 0). No data while the exporter is down: see "
                "'Exporter scrapes down'.",
                query(q.TARGETS_DOWN, "down"),
                thresholds=RED_FROM_1,
            ),
            3,
            4,
        ),
        (
            stat_panel(
                "Buckets",
                "Image buckets in the selected accounts, projects, regions and types "
                "(ucloud_image_buckets, each target counted once across replicas).",
                query(q.BUCKETS_TOTAL, "buckets"),
            ),
            3,
            4,
        ),
        (
            stat_panel(
                "Images",
                "Images in the selected accounts, projects, regions and types, from the "
                "recording rule instance_account_project_region_type:ucloud_image_bucket_images:"
                "sum (one series per target, not per bucket); the bucket filter does not apply "
                "here.",
                query(q.IMAGES_TOTAL, "images"),
            ),
            3,
            4,
        ),
        (
            stat_panel(
                "Oldest data",
                "Age of the oldest successfully fetched listing among the selected targets "
                "(time() - ucloud_image_bucket_last_success_timestamp_seconds). Orange at 10 "
                "minutes, red at 30 minutes, the threshold of the UCloudImageDataStale alert.",
                query(q.OLDEST_DATA, "age"),
                unit="s",
                thresholds=(("green", None), ("orange", 600), ("red", 1800)),
            ),
            4,
            4,
        ),
        (
            stat_panel(
                "API errors in range",
                "Failed UCloud API requests in the selected time range, all reasons, per-target "
                "and account-level (ucloud_image_bucket_api_errors_total and "
                "ucloud_image_bucket_account_api_errors_total; a counter born within the range "
                "counts with its whole value, so a first error is not missed).",
                query(q.ERRORS_IN_RANGE, instant=True),
                graph=False,
                thresholds=(("green", None), ("orange", 1)),
            ),
            4,
            4,
        ),
    ]


def buckets_and_images() -> list[Placed]:
    return [
        (
            timeseries_panel(
                "Buckets by region and type",
                "Image buckets per region and bucket type over time, summed over the selected "
                "accounts and projects.",
                query(q.BUCKETS_BY_REGION_TYPE, "{{region}} {{type}}"),
                decimals=0,
            ),
            12,
            9,
        ),
        (
            timeseries_panel(
                "Images by region",
                "Images per region over time, summed over the selected accounts, projects and "
                "types, from the per-target recording rule (the bucket filter does not apply).",
                query(q.IMAGES_BY_REGION, "{{region}}"),
                decimals=0,
            ),
            12,
            9,
        ),
        (
            table_panel(
                "Top buckets by image count",
                "The 20 selected buckets holding the most images now, with their creation time. "
                "Two instant topk queries merged into one row per bucket.",
                [("A", q.TOP_IMAGES), ("B", q.TOP_IMAGES_CREATED)],
                [*BUCKET_COLUMNS, ("Value #A", "Images"), ("Value #B", "Created")],
                sort_by="Images",
            ).override_by_name(
                "Created",
                [
                    model.DynamicConfigValue(id_val="unit", value="dateTimeAsIso"),
                    model.DynamicConfigValue(id_val="custom.width", value=200),
                ],
            ),
            24,
            10,
        ),
        (
            table_panel(
                "Biggest image-count growth in range",
                "The 10 selected buckets whose image count grew the most over the selected time "
                "range (now minus the range's start). Buckets created within the range have no "
                "earlier value and are not listed; buckets that did not grow are left out.",
                [("A", q.GROWTH)],
                [*BUCKET_COLUMNS, ("Value", "Growth")],
                sort_by="Growth",
            ),
            12,
            9,
        ),
        (
            table_panel(
                "Newest buckets",
                "The 10 most recently created selected buckets and their current image count.",
                [("A", q.NEWEST_CREATED), ("B", q.NEWEST_IMAGES)],
                [*BUCKET_COLUMNS, ("Value #A", "Created"), ("Value #B", "Images")],
                sort_by="Created",
                unit="dateTimeAsIso",
            ).override_by_name("Images", [model.DynamicConfigValue(id_val="unit", value="none")]),
            12,
            9,
        ),
    ]
