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
TARGET = ("account", "region")
BUCKET = ("account", "region", "bucket", "type")


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
    ("account", "region", "type"),
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
    "1 if the last listing of this account and region succeeded, else 0.",
    TARGET,
)
DURATION = Family(
    "ucloud_image_bucket_scrape_duration_seconds",
    "gauge",
    "How long listing this account and region took.",
    TARGET,
    "seconds",
)
ERROR_INFO = Family(
    "ucloud_image_bucket_error_info",
    "gauge",
    "Present (value 1) while this account and region fails; reason says why.",
    ("account", "region", "reason"),
)
LAST_SUCCESS = Family(
    "ucloud_image_bucket_last_success_timestamp_seconds",
    "gauge",
    "When this account and region was last listed successfully, in Unix seconds (older than "
    "the scrape when served from the min_interval_seconds cache).",
    TARGET,
    "seconds",
)
API_REQUESTS = Family(
    "ucloud_image_bucket_api_requests_total",
    "counter",
    "UCloud API requests sent, retries included (UHub's with an empty region label).",
    ("account", "region", "action"),
)
API_ERRORS = Family(
    "ucloud_image_bucket_api_errors_total",
    "counter",
    "UCloud API requests that failed, by reason (retcode_<n>, http_<status>, timeout, "
    "transport, decode, deadline).",
    ("account", "region", "action", "reason"),
)
INVALID_ENTRIES = Family(
    "ucloud_image_bucket_invalid_entries_total",
    "counter",
    "Entries with a missing or malformed field (BucketName, BucketType, ImageCount, "
    "CreateTime; entry: not an object). The bucket still counts. UHub's (empty region label): "
    "RepoName, IsShared, IsOutSide, ImageName, PullCount, UpdateTime, TotalCount.",
    ("account", "region", "field"),
)
PAGING_INCONSISTENCIES = Family(
    "ucloud_image_bucket_paging_inconsistencies_total",
    "counter",
    "Listings where the pages were inconsistent, by kind: total_ahead (fewer buckets than "
    "TotalCount), repeated_page (Offset ignored), oversized_page (more entries than Limit).",
    ("account", "region", "kind"),
)
CONCURRENCY_LIMIT = Family(
    "ucloud_image_bucket_api_concurrency_limit",
    "gauge",
    "API requests this account may have in flight now: halved when the API throttles it "
    "(RetCode 153, HTTP 429), grown back by one per round of successes.",
    ("account",),
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
    ("account",),
)
DISCOVERY_TIME = Family(
    "ucloud_image_bucket_region_discovery_last_success_timestamp_seconds",
    "gauge",
    "When this account's regions were last discovered, in Unix seconds.",
    ("account",),
    "seconds",
)
DISCOVERY_REGIONS = Family(
    "ucloud_image_bucket_region_discovery_regions",
    "gauge",
    "Number of regions known for this account.",
    ("account",),
)
DISCOVERY_REQUESTS = Family(
    "ucloud_image_bucket_region_discovery_requests_total",
    "counter",
    "GetRegion requests sent for this account, retries included.",
    ("account",),
)
DISCOVERY_ERRORS = Family(
    "ucloud_image_bucket_region_discovery_errors_total",
    "counter",
    "GetRegion requests that failed, by reason.",
    ("account", "reason"),
)

UHUB_ACCOUNT = ("account",)
UHUB_IMAGE = ("account", "repo", "image")
UHUB_UP = Family(
    "ucloud_uhub_up",
    "gauge",
    "1 if the last UHub refresh of this account (GetRepo, GetRepoImage, GetImageTag) "
    "succeeded, else 0.",
    UHUB_ACCOUNT,
)
UHUB_DURATION = Family(
    "ucloud_uhub_refresh_duration_seconds",
    "gauge",
    "How long the last UHub refresh of this account took.",
    UHUB_ACCOUNT,
    "seconds",
)
UHUB_ERROR_INFO = Family(
    "ucloud_uhub_error_info",
    "gauge",
    "Present (value 1) while this account's UHub refresh fails; reason says why.",
    ("account", "reason"),
)
UHUB_LAST_SUCCESS = Family(
    "ucloud_uhub_last_success_timestamp_seconds",
    "gauge",
    "When this account's UHub registry was last refreshed successfully, in Unix seconds.",
    UHUB_ACCOUNT,
    "seconds",
)
UHUB_REPOS = Family(
    "ucloud_uhub_repos",
    "gauge",
    "Number of UHub repositories the account owns (GetRepo, private and public).",
    UHUB_ACCOUNT,
)
UHUB_REPO_INFO = Family(
    "ucloud_uhub_repo_info",
    "gauge",
    "One UHub repository (value 1): shared is IsShared, internet_access is IsOutSide "
    "(true, false or unknown).",
    ("account", "repo", "shared", "internet_access"),
)
UHUB_REPO_IMAGES = Family(
    "ucloud_uhub_repo_images",
    "gauge",
    "Number of images in the UHub repository: those GetRepoImage listed, or its TotalCount "
    "when uhub.max_images cut the listing short; absent when the cap left it unlisted.",
    ("account", "repo"),
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
    "UHub refreshes of this account that kept only part of the registry, by reason: "
    "too_many_images (more than uhub.max_images; the first images by repository name are "
    "kept), too_many_repos (more than 1000 repositories).",
    ("account", "reason"),
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
    DISCOVERY_REQUESTS,
    DISCOVERY_ERRORS,
    CREDENTIALS_EXPIRY,
    *UHUB_FAMILIES,
    UHUB_TRUNCATED,
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
