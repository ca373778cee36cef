"""The metric catalogue: every family the exporter exposes, declared once.

Name, type, help, label names and base unit live here and nowhere else: the collector, the
fast writer, the dashboard builder, the rule and load tests and the README's metrics table
all read them (a test compares the table and the live exposition with this list). Adding a
metric is one entry here plus the code that gives it a value. Imports nothing from the
project.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily

Kind = Literal["gauge", "counter"]
#: A target: one project of an account in one region. ``project`` is the ProjectId (or
#: ``default`` when the key may not list its projects and none is configured).
TARGET = ("account", "project", "region")
BUCKET = (*TARGET, "bucket", "type")
#: Account-level families (discovery, credentials, UHub requests): no region or project.
ACCOUNT = ("account",)


@dataclass(frozen=True, slots=True)
class Family:
    """One metric family. ``name`` is as exposed (counters with ``_total``)."""

    name: str
    type: Kind
    help: str
    labels: tuple[str, ...] = ()
    unit: str = ""  # the base unit its values are in ("" for counts and 0/1 values)

    @property
    def base(self) -> str:
        """Return the name prometheus_client takes (a counter's without ``_total``)."""
        return self.name.removesuffix("_total") if self.type == "counter" else self.name

    def new(self) -> GaugeMetricFamily | CounterMetricFamily:
        """Return an empty prometheus_client family for this entry."""
        if self.type == "counter":
            return CounterMetricFamily(self.base, self.help, labels=self.labels)
        return GaugeMetricFamily(self.name, self.help, labels=self.labels)


BUCKETS = Family(
    "ucloud_image_buckets",
    "gauge",
    "Number of image buckets by type: private, public (always present when the listing "
    "succeeded) or unknown (BucketType missing or undocumented).",
    (*TARGET, "type"),
)
IMAGES = Family(
    "ucloud_image_bucket_images",
    "gauge",
    "Number of images in the bucket (ImageCount); absent when the API left it out.",
    BUCKET,
)
CREATED = Family(
    "ucloud_image_bucket_created_timestamp_seconds",
    "gauge",
    "When the bucket was created (CreateTime), in Unix seconds.",
    BUCKET,
    "seconds",
)
UP = Family(
    "ucloud_image_bucket_up",
    "gauge",
    "1 if the last listing of this target (account, project, region) succeeded, else 0.",
    TARGET,
)
DURATION = Family(
    "ucloud_image_bucket_scrape_duration_seconds",
    "gauge",
    "How long listing this target took.",
    TARGET,
    "seconds",
)
ERROR_INFO = Family(
    "ucloud_image_bucket_error_info",
    "gauge",
    "Present (value 1) while this target fails; reason says why.",
    (*TARGET, "reason"),
)
LAST_SUCCESS = Family(
    "ucloud_image_bucket_last_success_timestamp_seconds",
    "gauge",
    "When this target was last listed successfully, in Unix seconds (older than "
    "the scrape when served from the min_interval_seconds cache).",
    TARGET,
    "seconds",
)
API_REQUESTS = Family(
    "ucloud_image_bucket_api_requests_total",
    "counter",
    "GetImageBucketList requests sent for this target, retries included.",
    (*TARGET, "action"),
)
API_ERRORS = Family(
    "ucloud_image_bucket_api_errors_total",
    "counter",
    "Requests of this target that failed, by reason (retcode_<n>, http_<status>, timeout, "
    "transport, decode, deadline, credentials).",
    (*TARGET, "action", "reason"),
)
INVALID_ENTRIES = Family(
    "ucloud_image_bucket_invalid_entries_total",
    "counter",
    "Entries with a missing or malformed field (BucketName, BucketType, ImageCount, "
    "CreateTime; entry: not an object). The bucket still counts.",
    (*TARGET, "field"),
)
PAGING_INCONSISTENCIES = Family(
    "ucloud_image_bucket_paging_inconsistencies_total",
    "counter",
    "Listings where the pages were inconsistent, by kind: total_ahead (fewer buckets than "
    "TotalCount), repeated_page (Offset ignored), oversized_page (more entries than Limit).",
    (*TARGET, "kind"),
)
CONCURRENCY_LIMIT = Family(
    "ucloud_image_bucket_api_concurrency_limit",
    "gauge",
    "API requests this account may have in flight now: halved when the API throttles it "
    "(RetCode 153, HTTP 429), grown back by one per round of successes.",
    ACCOUNT,
)
BUILD_INFO = Family(
    "ucloud_image_bucket_exporter_build_info",
    "gauge",
    "Exporter version and Python version; always 1.",
    ("version", "python_version"),
)
RELOAD_OK = Family(
    "ucloud_image_bucket_config_last_reload_successful",
    "gauge",
    "1 if the last configuration reload succeeded.",
)
RELOAD_TIME = Family(
    "ucloud_image_bucket_config_last_reload_success_timestamp_seconds",
    "gauge",
    "When the configuration was last loaded successfully.",
    (),
    "seconds",
)
DISCOVERY_OK = Family(
    "ucloud_image_bucket_region_discovery_success",
    "gauge",
    "1 if the last GetRegion refresh of this account succeeded.",
    ACCOUNT,
)
DISCOVERY_TIME = Family(
    "ucloud_image_bucket_region_discovery_last_success_timestamp_seconds",
    "gauge",
    "When this account's regions were last discovered, in Unix seconds.",
    ACCOUNT,
    "seconds",
)
DISCOVERY_REGIONS = Family(
    "ucloud_image_bucket_region_discovery_regions",
    "gauge",
    "Number of regions known for this account.",
    ACCOUNT,
)
PROJECT_DISCOVERY_OK = Family(
    "ucloud_image_bucket_project_discovery_success",
    "gauge",
    "1 if the last GetProjectList call of this account (project_id: auto, or none set: its "
    "default project) succeeded.",
    ACCOUNT,
)
PROJECT_DISCOVERY_TIME = Family(
    "ucloud_image_bucket_project_discovery_last_success_timestamp_seconds",
    "gauge",
    "When this account's projects were last listed, in Unix seconds.",
    ACCOUNT,
    "seconds",
)
PROJECT_DISCOVERY_PROJECTS = Family(
    "ucloud_image_bucket_project_discovery_projects",
    "gauge",
    "Number of projects known for this account.",
    ACCOUNT,
)
ACCOUNT_API_REQUESTS = Family(
    "ucloud_image_bucket_account_api_requests_total",
    "counter",
    "Account-level UCloud API requests sent, retries included: GetRegion, GetProjectList, "
    "AssumeRole, MetadataSecurityCredentials (instance metadata) and UHub's.",
    (*ACCOUNT, "action"),
)
ACCOUNT_API_ERRORS = Family(
    "ucloud_image_bucket_account_api_errors_total",
    "counter",
    "Account-level UCloud API requests that failed, by reason.",
    (*ACCOUNT, "action", "reason"),
)

UHUB_PROJECT = ("account", "project")
UHUB_IMAGE = (*UHUB_PROJECT, "repo", "image")
UHUB_UP = Family(
    "ucloud_uhub_up",
    "gauge",
    "1 if the last UHub refresh of this project (GetRepo, GetRepoImage, GetImageTag) "
    "succeeded, else 0.",
    UHUB_PROJECT,
)
UHUB_DURATION = Family(
    "ucloud_uhub_refresh_duration_seconds",
    "gauge",
    "How long the last UHub refresh of this project took.",
    UHUB_PROJECT,
    "seconds",
)
UHUB_ERROR_INFO = Family(
    "ucloud_uhub_error_info",
    "gauge",
    "Present (value 1) while this project's UHub refresh fails; reason says why.",
    (*UHUB_PROJECT, "reason"),
)
UHUB_LAST_SUCCESS = Family(
    "ucloud_uhub_last_success_timestamp_seconds",
    "gauge",
    "When this project's UHub registry was last refreshed successfully, in Unix seconds.",
    UHUB_PROJECT,
    "seconds",
)
UHUB_REPOS = Family(
    "ucloud_uhub_repos",
    "gauge",
    "Number of UHub repositories the project owns (GetRepo, private and public).",
    UHUB_PROJECT,
)
UHUB_REPO_INFO = Family(
    "ucloud_uhub_repo_info",
    "gauge",
    "One UHub repository (value 1): shared is IsShared, internet_access is IsOutSide "
    "(true, false or unknown).",
    (*UHUB_PROJECT, "repo", "shared", "internet_access"),
)
UHUB_REPO_IMAGES = Family(
    "ucloud_uhub_repo_images",
    "gauge",
    "Number of images in the UHub repository: those GetRepoImage listed, or its TotalCount "
    "when uhub.max_images cut the listing short; absent when the cap left it unlisted.",
    (*UHUB_PROJECT, "repo"),
)
UHUB_IMAGE_PULLS = Family(
    "ucloud_uhub_image_pulls_total",
    "counter",
    "Pulls of the UHub image (PullCount); absent when the API left it out.",
    UHUB_IMAGE,
)
UHUB_IMAGE_UPDATED = Family(
    "ucloud_uhub_image_updated_timestamp_seconds",
    "gauge",
    "When the UHub image was last updated (UpdateTime), in Unix seconds; absent when the "
    "time is missing or unreadable.",
    UHUB_IMAGE,
    "seconds",
)
UHUB_IMAGE_TAGS = Family(
    "ucloud_uhub_image_tags",
    "gauge",
    "Number of tags of the UHub image (GetImageTag TotalCount); only for the images "
    "uhub.tag_counts selects. UHub deletes old tags beyond 800.",
    UHUB_IMAGE,
)
UHUB_FAMILIES: tuple[Family, ...] = (
    UHUB_UP,
    UHUB_DURATION,
    UHUB_ERROR_INFO,
    UHUB_LAST_SUCCESS,
    UHUB_REPOS,
    UHUB_REPO_INFO,
    UHUB_REPO_IMAGES,
    UHUB_IMAGE_PULLS,
    UHUB_IMAGE_UPDATED,
    UHUB_IMAGE_TAGS,
)
UHUB_TRUNCATED = Family(
    "ucloud_uhub_truncated_refreshes_total",
    "counter",
    "UHub refreshes of this project that kept only part of the registry, by reason: "
    "too_many_images (more than uhub.max_images; the first images by repository name are "
    "kept), too_many_repos (more than 1000 repositories).",
    (*UHUB_PROJECT, "reason"),
)
UHUB_INVALID_ENTRIES = Family(
    "ucloud_uhub_invalid_entries_total",
    "counter",
    "UHub entries with a missing or malformed field (RepoName, IsShared, IsOutSide, "
    "ImageName, PullCount, UpdateTime, TotalCount; entry: not an object).",
    (*UHUB_PROJECT, "field"),
)
UHUB_PAGING_INCONSISTENCIES = Family(
    "ucloud_uhub_paging_inconsistencies_total",
    "counter",
    "UHub refreshes where the pages were inconsistent, by kind (as for image buckets).",
    (*UHUB_PROJECT, "kind"),
)
#: UHub's documented limits (UCloud product docs): repositories per project, tags per image.
UHUB_MAX_REPOS = 8
UHUB_MAX_TAGS = 800
CREDENTIALS_EXPIRY = Family(
    "ucloud_image_bucket_credentials_expiry_timestamp_seconds",
    "gauge",
    "When this account's temporary key (instance_role, assume_role) expires, in Unix "
    "seconds; refreshed when 20 % of its lifetime is left. Absent for long-lived keys.",
    ("account",),
    "seconds",
)

#: Every family, in the order of the README's table.
CATALOGUE: tuple[Family, ...] = (
    BUCKETS,
    IMAGES,
    CREATED,
    UP,
    DURATION,
    ERROR_INFO,
    LAST_SUCCESS,
    API_REQUESTS,
    API_ERRORS,
    INVALID_ENTRIES,
    PAGING_INCONSISTENCIES,
    CONCURRENCY_LIMIT,
    BUILD_INFO,
    RELOAD_OK,
    RELOAD_TIME,
    DISCOVERY_OK,
    DISCOVERY_TIME,
    DISCOVERY_REGIONS,
    PROJECT_DISCOVERY_OK,
    PROJECT_DISCOVERY_TIME,
    PROJECT_DISCOVERY_PROJECTS,
    ACCOUNT_API_REQUESTS,
    ACCOUNT_API_ERRORS,
    CREDENTIALS_EXPIRY,
    *UHUB_FAMILIES,
    UHUB_TRUNCATED,
    UHUB_INVALID_ENTRIES,
    UHUB_PAGING_INCONSISTENCIES,
)
#: The families with one series per bucket (written by exporter.exposition's fast writer).
PER_BUCKET: tuple[Family, ...] = tuple(f for f in CATALOGUE if "bucket" in f.labels)
BY_NAME = {family.name: family for family in CATALOGUE}


def markdown_table() -> str:
    """Return the README's metrics table."""
    rows = ["| metric | type | labels | unit | meaning |", "|---|---|---|---|---|"]
    rows += [
        f"| `{f.name}` | {f.type} | {', '.join(f.labels)} | {f.unit} | {f.help.replace('|', '/')} |"
        for f in CATALOGUE
    ]
    return "\n".join(rows) + "\n"
