"""The dashboard's last row: the exporter's own health."""

from __future__ import annotations

import queries as q
from grafana_foundation_sdk.builders import table
from grafana_foundation_sdk.models import dashboard as model
from panels import (
    Panel,
    query,
    state_panel,
    table_panel,
    timeseries_panel,
    updown,
)

Placed = tuple[Panel, int, int]  # a panel, its width (of 24) and its height
SECONDS = [model.DynamicConfigValue(id_val="unit", value="s")]


def discovery_and_credentials() -> table.Panel:
    """One row per account: its project discovery and its temporary key's time left."""
    return (
        table_panel(
            "Project discovery and credentials",
            "Per account: whether its last GetProjectList call succeeded "
            "(ucloud_image_bucket_project_discovery_success; project_id: auto, or none set), "
            "the projects it knows, seconds since its projects were last listed, and the time "
            "until its temporary key (instance_role, assume_role) expires "
            "(ucloud_image_bucket_credentials_expiry_timestamp_seconds - time(); the key is "
            "refreshed when 20 % of its lifetime is left). Accounts with configured projects "
            "have no discovery columns, long-lived keys no expiry.",
            [
                ("A", q.PROJECT_DISCOVERY_STATUS),
                ("B", q.PROJECTS_KNOWN),
                ("C", q.PROJECT_DISCOVERY_AGE),
                ("D", q.CREDENTIALS_LEFT),
            ],
            [
                ("account", "Account"),
                ("Value #A", "Project discovery"),
                ("Value #B", "Projects"),
                ("Value #C", "Listed ago"),
                ("Value #D", "Credentials expire in"),
            ],
            sort_by="Account",
        )
        .override_by_name(
            "Project discovery",
            [model.DynamicConfigValue(id_val="mappings", value=updown("FAILED", "OK"))],
        )
        .override_by_name("Listed ago", SECONDS)
        .override_by_name("Credentials expire in", SECONDS)
    )


def exporter_health() -> list[Placed]:
    return [
        (
            state_panel(
                "Exporter scrapes",
                "Prometheus's own up for the exporter's scrape targets: UP when the last scrape "
                "succeeded, DOWN when it failed (process down, timeout, HTTP error).",
                query(q.UP, "{{job}} {{instance}}"),
            ),
            12,
            9,
        ),
        (
            state_panel(
                "Target status",
                "ucloud_image_bucket_up per account x project x region target and exporter "
                "instance: UP "
                "when the target's last listing succeeded, DOWN when it failed. Gaps mean the "
                "exporter was not scraped.",
                query(q.TARGET_UP, "{{account}} / {{project}} / {{region}} ({{instance}})"),
            ),
            12,
            9,
        ),
        (
            table_panel(
                "Failing targets",
                "Targets whose last listing failed, with the reason "
                "(ucloud_image_bucket_error_info: retcode_<n>, http_<status>, timeout, transport, "
                "decode, paging, too_many_buckets, deadline, credentials). Empty when every "
                "target is fine. "
                "docs/runbooks.md says what to do for each reason.",
                [("A", q.ERROR_INFO)],
                [
                    ("account", "Account"),
                    ("project", "Project"),
                    ("region", "Region"),
                    ("reason", "Reason"),
                    ("instance", "Instance"),
                ],
                hide=("Time", "__name__", "job", "Value"),
                sort_by="Account",
            ),
            12,
            9,
        ),
        (
            timeseries_panel(
                "Listing duration per target",
                "How long the last bucket listing of each target took, retries included "
                "(ucloud_image_bucket_scrape_duration_seconds), per exporter instance.",
                query(q.DURATION, "{{account}} / {{project}} / {{region}} ({{instance}})"),
                unit="s",
            ),
            12,
            9,
        ),
        (
            timeseries_panel(
                "API request rate",
                "UCloud API requests per second by target and API action, one exporter's worth "
                "(rate of ucloud_image_bucket_api_requests_total, max over replicas).",
                query(q.REQUEST_RATE, "{{account}} / {{project}} / {{region}} {{action}}"),
                unit="reqps",
            ),
            12,
            9,
        ),
        (
            timeseries_panel(
                "API errors by reason (per 5 min)",
                "Failed UCloud API requests in the 5 minutes before each point, by reason, first "
                "errors included. retcode_170-174 and 292-299 are authentication / permission "
                "errors, retcode_153 and http_429 throttling; timeout, transport, decode and "
                "deadline are client-side failures. Per-target and account-level requests "
                "(GetRegion, GetProjectList, AssumeRole, UHub's) together.",
                query(q.ERRORS_BY_REASON, "{{reason}}"),
                decimals=0,
            ),
            12,
            9,
        ),
        (
            timeseries_panel(
                "Data age per target",
                "Seconds since each target's data was last fetched successfully by any replica "
                "(time() - ucloud_image_bucket_last_success_timestamp_seconds).",
                query(q.DATA_AGE, "{{account}} / {{project}} / {{region}}"),
                unit="s",
            ),
            12,
            9,
        ),
        (
            timeseries_panel(
                "Invalid bucket entries (per 5 min)",
                "Bucket entries with a missing or malformed field in the 5 minutes before each "
                "point (ucloud_image_bucket_invalid_entries_total, all fields; the bucket still "
                "counts). Non-zero means the API's answer changed or it leaves out zero values. "
                "No data until the first one.",
                query(q.INVALID_ENTRIES, "{{account}} / {{project}} / {{region}}"),
                decimals=0,
            ),
            12,
            9,
        ),
        (
            timeseries_panel(
                "Account-level API request rate",
                "Account-level UCloud API requests per second by account and action: GetRegion, "
                "GetProjectList, AssumeRole, MetadataSecurityCredentials and UHub's GetRepo, "
                "GetRepoImage, GetImageTag (rate of "
                "ucloud_image_bucket_account_api_requests_total, max over replicas). Their "
                "errors are in 'API errors by reason'.",
                query(q.ACCOUNT_REQUEST_RATE, "{{account}} {{action}}"),
                unit="reqps",
            ),
            12,
            9,
        ),
        (
            discovery_and_credentials(),
            12,
            9,
        ),
        (
            timeseries_panel(
                "Series left out of the scrape",
                "Series each exporter instance left out of its last scrape, by family "
                "(ucloud_image_bucket_exporter_series_dropped): past collect.max_series whole "
                "per-bucket and per-image families are left out, images inside buckets first, "
                "then custom host images, UHub images and buckets; all of them with "
                "collect.per_bucket_series: false. 0 for a family kept whole.",
                query(q.SERIES_DROPPED, "{{family}} ({{instance}})"),
                decimals=0,
            ),
            24,
            8,
        ),
        (
            table_panel(
                "Exporter build info",
                "Version of each exporter instance and the Python it runs on "
                "(ucloud_image_bucket_exporter_build_info; /metrics only, not /probe).",
                [("A", q.BUILD_INFO)],
                [
                    ("instance", "Instance"),
                    ("job", "Job"),
                    ("version", "Version"),
                    ("python_version", "Python"),
                ],
                hide=("Time", "__name__", "Value"),
                sort_by="Instance",
            ),
            24,
            6,
        ),
    ]
