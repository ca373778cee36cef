"""The dashboard's rows for the images outside UHub, both opt-in and collapsed:

* *Images inside buckets*: the Docker images inside image buckets (GetDockerImageList), for
  accounts with ``docker_images: true``;
* *Custom host images*: custom UHost machine images (DescribeImage, ImageType Custom) and
  their per-region quota, for accounts with ``host_images: true``.

Without those settings every panel here says "No data". The per-image series (one per image:
unbounded) are only read by topk/bottomk-bounded instant queries (tables and bar gauges);
the thresholds drawn are the alerts' (90 % of a quota, 30 days to an OS's end of life).
"""

from __future__ import annotations

import queries as q
from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.models import dashboard as model
from panels import (
    Panel,
    bargauge_panel,
    query,
    state_panel,
    table_panel,
    timeseries_panel,
)

Placed = tuple[Panel, int, int]  # a panel, its width (of 24) and its height

DATE = [model.DynamicConfigValue(id_val="unit", value="dateTimeAsIso")]
DAYS = [model.DynamicConfigValue(id_val="decimals", value=0)]
BYTES = [model.DynamicConfigValue(id_val="unit", value="bytes")]
DOCKER_COLUMNS = (
    ("account", "Account"),
    ("project", "Project"),
    ("region", "Region"),
    ("bucket", "Bucket"),
    ("image", "Image"),
)
HOST_COLUMNS = (
    ("account", "Account"),
    ("project", "Project"),
    ("region", "Region"),
    ("image_id", "Image ID"),
    ("name", "Name"),
    ("os", "OS"),
)
SOONEST_FIRST = (
    common_builders.TableSortByFieldState().display_name("Days to end of life").desc(False)
)
#: Days before an OS's end of life from which the EOL table is red (the alert's 30 days).
EOL_WARNING_DAYS = 30


def images_inside_buckets() -> list[Placed]:
    return [
        (
            state_panel(
                "Images-inside-buckets refresh status",
                "ucloud_image_bucket_docker_images_up per account x project and exporter "
                "instance: UP when the last background refresh of the project's images inside "
                "buckets (GetDockerImageList, every bucket it reached) succeeded, DOWN when it "
                "failed; ucloud_image_bucket_docker_images_error_info says why. Refreshed every "
                "docker_images.refresh_seconds (600 s by default).",
                query(q.DOCKER_UP, "{{account}} / {{project}} ({{instance}})"),
            ),
            8,
            8,
        ),
        (
            timeseries_panel(
                "Images-inside-buckets data age",
                "Seconds since each project's images inside buckets were last refreshed "
                "successfully by any replica (time() - "
                "ucloud_image_bucket_docker_images_last_success_timestamp_seconds): a sawtooth "
                "up to docker_images.refresh_seconds (600 s by default) when healthy. The "
                "UCloudImageDockerImagesDataStale alert fires beyond 30 minutes.",
                query(q.DOCKER_DATA_AGE, "{{account}} / {{project}}"),
                unit="s",
            ),
            8,
            8,
        ),
        (
            timeseries_panel(
                "Buckets with images held",
                "Buckets of each project whose images the exporter holds "
                "(ucloud_image_bucket_docker_images_listed_buckets, max over replicas): fewer "
                "than the project's buckets while docker_images.max_buckets_per_refresh rotates "
                "through them.",
                query(q.DOCKER_LISTED, "{{account}} / {{project}}"),
                decimals=0,
            ),
            8,
            8,
        ),
        (
            table_panel(
                "Images with the most tags",
                "The 20 images inside buckets with the most tags (ucloud_image_bucket_image_tags), "
                "when their oldest and newest tag were created and when the image was last "
                "updated (UpdateTime).",
                [
                    ("A", q.DOCKER_TOP_TAGS),
                    ("B", q.DOCKER_TOP_TAGS_OLDEST),
                    ("C", q.DOCKER_TOP_TAGS_NEWEST),
                    ("D", q.DOCKER_TOP_TAGS_UPDATED),
                ],
                [
                    *DOCKER_COLUMNS,
                    ("Value #A", "Tags"),
                    ("Value #B", "Oldest tag"),
                    ("Value #C", "Newest tag"),
                    ("Value #D", "Updated"),
                ],
                sort_by="Tags",
            )
            .override_by_name("Oldest tag", DATE)
            .override_by_name("Newest tag", DATE)
            .override_by_name("Updated", DATE),
            12,
            10,
        ),
        (
            table_panel(
                "Images with the oldest tags",
                "The 20 images inside buckets whose oldest tag is oldest "
                "(ucloud_image_bucket_image_oldest_tag_timestamp_seconds): how far back a "
                "clean-up of old tags would reach, with the image's tag count.",
                [
                    ("A", q.DOCKER_OLDEST_TAG_DAYS),
                    ("B", q.DOCKER_OLDEST_TAG_AT),
                    ("C", q.DOCKER_OLDEST_TAG_TAGS),
                ],
                [
                    *DOCKER_COLUMNS,
                    ("Value #A", "Days since oldest tag"),
                    ("Value #B", "Oldest tag"),
                    ("Value #C", "Tags"),
                ],
                sort_by="Days since oldest tag",
            )
            .override_by_name("Oldest tag", DATE)
            .override_by_name("Days since oldest tag", DAYS),
            12,
            10,
        ),
    ]


def custom_host_images() -> list[Placed]:
    return [
        (
            state_panel(
                "Custom host image refresh status",
                "ucloud_uhost_images_up per account x project x region and exporter instance: "
                "UP when the last DescribeImage (ImageType Custom) refresh succeeded, DOWN when "
                "it failed; ucloud_uhost_images_error_info says why. Refreshed every "
                "host_images.refresh_seconds (600 s by default).",
                query(q.HOST_UP, "{{account}} / {{project}} {{region}} ({{instance}})"),
            ),
            8,
            8,
        ),
        (
            timeseries_panel(
                "Custom host image data age",
                "Seconds since each region's custom host images were last refreshed "
                "successfully by any replica (time() - "
                "ucloud_uhost_images_last_success_timestamp_seconds). The "
                "UCloudImageHostImagesDataStale alert fires beyond 30 minutes.",
                query(q.HOST_DATA_AGE, "{{account}} / {{project}} {{region}}"),
                unit="s",
            ),
            8,
            8,
        ),
        (
            bargauge_panel(
                "Custom images vs quota",
                "Custom host images of every state (ucloud_uhost_custom_images summed over "
                "state) as a share of the region's quota (ucloud_uhost_custom_image_quota); "
                "regions without a known quota are not shown. Orange from 90 % (the "
                "UCloudImageHostImagesNearQuota alert), red at the quota, where making or "
                "copying images fails.",
                query(q.HOST_QUOTA_USED, "{{account}} / {{project}} {{region}}", instant=True),
                limit=1,
                thresholds=(("green", None), ("orange", q.HOST_QUOTA_WARNING), ("red", 1)),
            )
            .unit("percentunit")
            .decimals(1),
            8,
            8,
        ),
        (
            timeseries_panel(
                "Custom host images by region and state",
                "Custom host images per region and State (ucloud_uhost_custom_images, max over "
                "replicas): Available, Making, Copying, Unavailable (the "
                "UCloudImageHostImageUnavailable alert) and unknown.",
                query(q.HOST_IMAGES_BY_STATE, "{{region}} {{state}}"),
                decimals=0,
            ),
            12,
            9,
        ),
        (
            table_panel(
                "Largest custom host images",
                "The 20 largest custom host images (ucloud_uhost_image_size_bytes) with their "
                "name and OS (ucloud_uhost_image_info) and when they were created.",
                [("A", q.HOST_TOP_SIZE), ("B", q.HOST_TOP_SIZE_CREATED)],
                [*HOST_COLUMNS, ("Value #A", "Size"), ("Value #B", "Created")],
                sort_by="Size",
            )
            .override_by_name("Size", BYTES)
            .override_by_name("Created", DATE),
            12,
            9,
        ),
        (
            table_panel(
                "OS end of life",
                "The 20 custom host images whose operating system reaches its end of life "
                "first (ucloud_uhost_image_os_eol_timestamp_seconds; images without a known "
                "MaintainEol are not listed): days left (negative: already past) and the date. "
                f"Red within {EOL_WARNING_DAYS} days (the UCloudImageHostImageOsEndOfLife "
                "alert).",
                [("A", q.HOST_EOL_DAYS), ("B", q.HOST_EOL_AT)],
                [*HOST_COLUMNS, ("Value #A", "Days to end of life"), ("Value #B", "End of life")],
                sort_by="Days to end of life",
            )
            .sort_by([SOONEST_FIRST])
            .override_by_name("End of life", DATE)
            .override_by_name(
                "Days to end of life",
                [
                    *DAYS,
                    model.DynamicConfigValue(
                        id_val="thresholds",
                        value={
                            "mode": "absolute",
                            "steps": [
                                {"color": "red", "value": None},
                                {"color": "green", "value": EOL_WARNING_DAYS},
                            ],
                        },
                    ),
                    model.DynamicConfigValue(
                        id_val="custom.cellOptions", value={"type": "color-text"}
                    ),
                ],
            ),
            24,
            9,
        ),
    ]
