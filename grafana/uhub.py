"""The dashboard's UHub row: UCloud's container registry, for accounts with ``uhub: true``.

The row is collapsed and last: UHub is opt-in, and without it every panel here says
"No data". The limits drawn (8 repositories per project, 800 tags per image) are UCloud's,
from the metric catalogue; the 700-tag warning is the UCloudImageUHubTagsNearLimit alert's.
"""

from __future__ import annotations

import queries as q
from grafana_foundation_sdk.models import dashboard as model
from panels import (
    Panel,
    bargauge_panel,
    query,
    state_panel,
    table_panel,
    timeseries_panel,
)

from exporter import metrics as m

Placed = tuple[Panel, int, int]  # a panel, its width (of 24) and its height

#: Tags on one image from which the dashboard is orange; the alert fires above it.
TAGS_WARNING = m.UHUB_MAX_TAGS - 100
IMAGE_COLUMNS = (
    ("account", "Account"),
    ("project", "Project"),
    ("repo", "Repository"),
    ("image", "Image"),
)
DATE = [model.DynamicConfigValue(id_val="unit", value="dateTimeAsIso")]


def uhub_registry() -> list[Placed]:
    return [
        (
            bargauge_panel(
                "UHub repositories per project",
                "Repositories each account owns in each project (ucloud_uhub_repos), against "
                f"UCloud's limit of {m.UHUB_MAX_REPOS} per project: red at the limit, where "
                "creating a repository fails (the UCloudImageUHubReposAtLimit alert).",
                query(q.UHUB_REPOS_PER_PROJECT, "{{account}} / {{project}}", instant=True),
                limit=m.UHUB_MAX_REPOS,
                thresholds=(("green", None), ("red", m.UHUB_MAX_REPOS)),
            ),
            6,
            8,
        ),
        (
            state_panel(
                "UHub refresh status",
                "ucloud_uhub_up per account x project and exporter instance: UP when the last "
                "background refresh of the project's UHub (GetRepo, GetRepoImage, GetImageTag) "
                "succeeded, DOWN when it failed; ucloud_uhub_error_info says why. Refreshed every "
                "uhub.refresh_seconds (300 s by default), so one failure shows for a whole "
                "interval.",
                query(q.UHUB_UP, "{{account}} / {{project}} ({{instance}})"),
            ),
            9,
            8,
        ),
        (
            timeseries_panel(
                "UHub data age",
                "Seconds since each project's UHub data was last refreshed successfully by any "
                "replica (time() - ucloud_uhub_last_success_timestamp_seconds): a sawtooth up to "
                "uhub.refresh_seconds (300 s by default) when healthy. The "
                "UCloudImageUHubDataStale alert fires beyond 15 minutes.",
                query(q.UHUB_DATA_AGE, "{{account}} / {{project}}"),
                unit="s",
            ),
            9,
            8,
        ),
        (
            bargauge_panel(
                f"UHub tags per image (limit {m.UHUB_MAX_TAGS})",
                f"The 20 images with the most tags (ucloud_uhub_image_tags; only the images "
                f"uhub.tag_counts selects). Beyond {m.UHUB_MAX_TAGS} tags UHub deletes the tags "
                f"not pulled within a month, oldest first: orange from {TAGS_WARNING} (the "
                f"UCloudImageUHubTagsNearLimit alert fires above it), red at {m.UHUB_MAX_TAGS}.",
                query(
                    q.UHUB_TOP_TAGS, "{{account}} / {{project}} {{repo}}/{{image}}", instant=True
                ),
                limit=m.UHUB_MAX_TAGS,
                thresholds=(("green", None), ("orange", TAGS_WARNING), ("red", m.UHUB_MAX_TAGS)),
            ),
            12,
            10,
        ),
        (
            table_panel(
                f"UHub images not updated for {q.STALE_IMAGE_DAYS} days",
                f"The 20 selected images whose last update (UpdateTime, "
                f"ucloud_uhub_image_updated_timestamp_seconds) is oldest, among those older than "
                f"{q.STALE_IMAGE_DAYS} days: candidates for clean-up. Empty when every image "
                "was updated more recently.",
                [("A", q.UHUB_STALE_IMAGES), ("B", q.UHUB_STALE_UPDATED)],
                [*IMAGE_COLUMNS, ("Value #A", "Days since update"), ("Value #B", "Updated")],
                sort_by="Days since update",
            )
            .override_by_name("Updated", DATE)
            .override_by_name(
                "Days since update", [model.DynamicConfigValue(id_val="decimals", value=0)]
            ),
            12,
            10,
        ),
        (
            table_panel(
                "Most pulled UHub images",
                "The 10 selected images pulled most often (the API's PullCount, "
                "ucloud_uhub_image_pulls_total), and their pulls within the selected time range "
                "(increase). PullCount is a lifetime count: an image first seen within the range "
                "has its earlier pulls left out of the range column, and a deleted image drops "
                "out.",
                [("A", q.UHUB_TOP_PULLS), ("B", q.UHUB_TOP_PULLS_RANGE)],
                [*IMAGE_COLUMNS, ("Value #A", "Pulls"), ("Value #B", "Pulls in range")],
                sort_by="Pulls",
            ),
            12,
            10,
        ),
        (
            table_panel(
                "UHub repositories",
                "Every selected repository with its image count (ucloud_uhub_repo_images) and "
                "flags from ucloud_uhub_repo_info: shared (IsShared) and internet access "
                "(IsOutSide), true / false / unknown.",
                [("A", q.UHUB_REPO_TABLE)],
                [
                    ("account", "Account"),
                    ("project", "Project"),
                    ("repo", "Repository"),
                    ("shared", "Shared"),
                    ("internet_access", "Internet access"),
                    ("Value", "Images"),
                ],
                sort_by="Images",
            ),
            12,
            10,
        ),
    ]
