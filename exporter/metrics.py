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
#: The series budget (``collect.max_series``): the groups of per-bucket and per-image families,
#: in the order whole families are left out of a scrape past it. Counts and health are in none
#: and never left out; ``collect.per_bucket_series: false`` leaves out every group.
DROP_ORDER = ("bucket_images", "host_images", "uhub_images", "buckets")
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
    budget: str = ""  # its group in DROP_ORDER ("": counts and health, never left out)

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
    budget="buckets",
)
CREATED = Family(
    "ucloud_image_bucket_created_timestamp_seconds",
    "gauge",
    "When the bucket was created (CreateTime), in Unix seconds.",
    BUCKET,
    "seconds",
    budget="buckets",
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
    budget="uhub_images",
)
UHUB_IMAGE_UPDATED = Family(
    "ucloud_uhub_image_updated_timestamp_seconds",
    "gauge",
    "When the UHub image was last updated (UpdateTime), in Unix seconds; absent when the "
    "time is missing or unreadable.",
    UHUB_IMAGE,
    "seconds",
    budget="uhub_images",
)
UHUB_IMAGE_TAGS = Family(
    "ucloud_uhub_image_tags",
    "gauge",
    "Number of tags of the UHub image (GetImageTag TotalCount); only for the images "
    "uhub.tag_counts selects. UHub deletes old tags beyond 800.",
    UHUB_IMAGE,
    budget="uhub_images",
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

#: One project's Docker images inside buckets (``docker_images: true``), refreshed together.
DOCKER_PROJECT = ("account", "project")
DOCKER_IMAGE = ("account", "project", "region", "bucket", "image")
DOCKER_UP = Family(
    "ucloud_image_bucket_docker_images_up",
    "gauge",
    "1 if the last refresh of this project's images inside buckets (GetDockerImageList, "
    "every bucket it reached) succeeded, else 0.",
    DOCKER_PROJECT,
)
DOCKER_DURATION = Family(
    "ucloud_image_bucket_docker_images_refresh_duration_seconds",
    "gauge",
    "How long the last refresh of this project's images inside buckets took.",
    DOCKER_PROJECT,
    "seconds",
)
DOCKER_ERROR_INFO = Family(
    "ucloud_image_bucket_docker_images_error_info",
    "gauge",
    "Present (value 1) while this project's refresh of images inside buckets fails; reason "
    "says why (of the first bucket that failed).",
    (*DOCKER_PROJECT, "reason"),
)
DOCKER_LAST_SUCCESS = Family(
    "ucloud_image_bucket_docker_images_last_success_timestamp_seconds",
    "gauge",
    "When this project's images inside buckets were last refreshed successfully, in Unix seconds.",
    DOCKER_PROJECT,
    "seconds",
)
DOCKER_LISTED_BUCKETS = Family(
    "ucloud_image_bucket_docker_images_listed_buckets",
    "gauge",
    "Buckets of this project whose images are held (listed by GetDockerImageList and not "
    "older than docker_images.max_data_age_seconds); fewer than the buckets while "
    "docker_images.max_buckets_per_refresh rotates through them.",
    DOCKER_PROJECT,
)
DOCKER_IMAGE_TAGS = Family(
    "ucloud_image_bucket_image_tags",
    "gauge",
    "Number of tags of the image inside the bucket (entries of TagSet); absent when TagSet "
    "is missing. There is never one series per tag.",
    DOCKER_IMAGE,
    budget="bucket_images",
)
DOCKER_IMAGE_UPDATED = Family(
    "ucloud_image_bucket_image_updated_timestamp_seconds",
    "gauge",
    "When the image inside the bucket was last updated (UpdateTime), in Unix seconds.",
    DOCKER_IMAGE,
    "seconds",
    budget="bucket_images",
)
DOCKER_IMAGE_NEWEST_TAG = Family(
    "ucloud_image_bucket_image_newest_tag_timestamp_seconds",
    "gauge",
    "When the image's newest tag was created (the latest TagSet CreateTime), in Unix seconds.",
    DOCKER_IMAGE,
    "seconds",
    budget="bucket_images",
)
DOCKER_IMAGE_OLDEST_TAG = Family(
    "ucloud_image_bucket_image_oldest_tag_timestamp_seconds",
    "gauge",
    "When the image's oldest tag was created (the earliest TagSet CreateTime), in Unix "
    "seconds: how far back a cleanup reaches.",
    DOCKER_IMAGE,
    "seconds",
    budget="bucket_images",
)
DOCKER_FAMILIES: tuple[Family, ...] = (
    DOCKER_UP,
    DOCKER_DURATION,
    DOCKER_ERROR_INFO,
    DOCKER_LAST_SUCCESS,
    DOCKER_LISTED_BUCKETS,
    DOCKER_IMAGE_TAGS,
    DOCKER_IMAGE_UPDATED,
    DOCKER_IMAGE_NEWEST_TAG,
    DOCKER_IMAGE_OLDEST_TAG,
)
DOCKER_VANISHED = Family(
    "ucloud_image_bucket_docker_images_vanished_buckets_total",
    "counter",
    "Buckets deleted between the bucket listing and their GetDockerImageList (RetCode 43023 "
    "BucketNotExistError): not an error; the bucket's images are forgotten.",
    DOCKER_PROJECT,
)
DOCKER_TRUNCATED = Family(
    "ucloud_image_bucket_docker_images_truncated_buckets_total",
    "counter",
    "Buckets whose images were cut short: only the first 10,000 of one bucket kept, or none "
    "of a bucket beyond docker_images.max_images held by the account.",
    DOCKER_PROJECT,
)
DOCKER_INVALID_ENTRIES = Family(
    "ucloud_image_bucket_docker_images_invalid_entries_total",
    "counter",
    "GetDockerImageList entries with a missing or malformed field (BucketName/ImageName: "
    "entry dropped; TagSet, TagSet.CreateTime, UpdateTime: value dropped; entry: not an "
    "object).",
    (*DOCKER_PROJECT, "field"),
)
DOCKER_PAGING_INCONSISTENCIES = Family(
    "ucloud_image_bucket_docker_images_paging_inconsistencies_total",
    "counter",
    "GetDockerImageList listings where the pages were inconsistent, by kind (as for image "
    "buckets).",
    (*DOCKER_PROJECT, "kind"),
)

#: One region of one project's custom host images (``host_images: true``).
HOST_REGION = ("account", "project", "region")
HOST_IMAGE = (*HOST_REGION, "image_id")
HOST_UP = Family(
    "ucloud_uhost_images_up",
    "gauge",
    "1 if the last DescribeImage (ImageType Custom) refresh of this region succeeded, else 0.",
    HOST_REGION,
)
HOST_DURATION = Family(
    "ucloud_uhost_images_refresh_duration_seconds",
    "gauge",
    "How long the last refresh of this region's custom host images took.",
    HOST_REGION,
    "seconds",
)
HOST_ERROR_INFO = Family(
    "ucloud_uhost_images_error_info",
    "gauge",
    "Present (value 1) while this region's custom host image refresh fails; reason says why.",
    (*HOST_REGION, "reason"),
)
HOST_LAST_SUCCESS = Family(
    "ucloud_uhost_images_last_success_timestamp_seconds",
    "gauge",
    "When this region's custom host images were last refreshed successfully, in Unix seconds.",
    HOST_REGION,
    "seconds",
)
HOST_IMAGES = Family(
    "ucloud_uhost_custom_images",
    "gauge",
    "Number of custom host images in the region by State: Available, Making, Unavailable, "
    "Copying (always present when the refresh succeeded) or unknown (missing or undocumented).",
    (*HOST_REGION, "state"),
)
HOST_QUOTA = Family(
    "ucloud_uhost_custom_image_quota",
    "gauge",
    "How many custom host images the region allows (host_images.quotas, "
    "accounts[].host_image_quotas, else UCloud's documented table); absent for a region "
    "neither names.",
    HOST_REGION,
)
HOST_IMAGE_SIZE = Family(
    "ucloud_uhost_image_size_bytes",
    "gauge",
    "Size of the custom host image (ImageSize, read as GiB), in bytes.",
    HOST_IMAGE,
    "bytes",
    budget="host_images",
)
HOST_IMAGE_CREATED = Family(
    "ucloud_uhost_image_created_timestamp_seconds",
    "gauge",
    "When the custom host image was created (CreateTime), in Unix seconds.",
    HOST_IMAGE,
    "seconds",
    budget="host_images",
)
HOST_IMAGE_EOL = Family(
    "ucloud_uhost_image_os_eol_timestamp_seconds",
    "gauge",
    "When the image's operating system reaches end of life (MaintainEol, midnight UTC+08:00), "
    "in Unix seconds; absent when MaintainEol is empty or malformed.",
    HOST_IMAGE,
    "seconds",
    budget="host_images",
)
HOST_IMAGE_INFO = Family(
    "ucloud_uhost_image_info",
    "gauge",
    (
        "One custom host image (value 1): name is ImageName, os is OsName; either is "
        '"unknown" when the API leaves it out or empty (a label is never empty).'
    ),
    (*HOST_IMAGE, "name", "os"),
    budget="host_images",
)
HOST_FAMILIES: tuple[Family, ...] = (
    HOST_UP,
    HOST_DURATION,
    HOST_ERROR_INFO,
    HOST_LAST_SUCCESS,
    HOST_IMAGES,
    HOST_QUOTA,
    HOST_IMAGE_SIZE,
    HOST_IMAGE_CREATED,
    HOST_IMAGE_EOL,
    HOST_IMAGE_INFO,
)
HOST_TRUNCATED = Family(
    "ucloud_uhost_images_truncated_refreshes_total",
    "counter",
    "DescribeImage refreshes of this region that kept only the first 10,000 images.",
    HOST_REGION,
)
HOST_INVALID_ENTRIES = Family(
    "ucloud_uhost_images_invalid_entries_total",
    "counter",
    "DescribeImage entries with a missing or malformed field (ImageId: entry dropped; "
    "ImageName, OsName, OsType, State, CreateTime, ImageSize, MaintainEol, Zone: value "
    "dropped; entry: not an object).",
    (*HOST_REGION, "field"),
)
HOST_PAGING_INCONSISTENCIES = Family(
    "ucloud_uhost_images_paging_inconsistencies_total",
    "counter",
    "DescribeImage refreshes where the pages were inconsistent, by kind (as for image buckets).",
    (*HOST_REGION, "kind"),
)
SERIES_DROPPED = Family(
    "ucloud_image_bucket_exporter_series_dropped",
    "gauge",
    "Series left out of the last scrape of the telemetry path, by family: past "
    "collect.max_series (whole families, in a fixed order) or by collect.per_bucket_series "
    "false; 0 for a family kept whole.",
    ("family",),
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
    *DOCKER_FAMILIES,
    DOCKER_VANISHED,
    DOCKER_TRUNCATED,
    DOCKER_INVALID_ENTRIES,
    DOCKER_PAGING_INCONSISTENCIES,
    *HOST_FAMILIES,
    HOST_TRUNCATED,
    HOST_INVALID_ENTRIES,
    HOST_PAGING_INCONSISTENCIES,
    SERIES_DROPPED,
)
#: The families with one series per bucket (written by exporter.exposition's fast writer).
PER_BUCKET: tuple[Family, ...] = tuple(f for f in CATALOGUE if f.budget == "buckets")
BY_NAME = {family.name: family for family in CATALOGUE}


def markdown_table() -> str:
    """Return the README's metrics table."""
    rows = ["| metric | type | labels | unit | meaning |", "|---|---|---|---|---|"]
    rows += [
        f"| `{f.name}` | {f.type} | {', '.join(f.labels)} | {f.unit} | {f.help.replace('|', '/')} |"
        for f in CATALOGUE
    ]
    return "\n".join(rows) + "\n"
