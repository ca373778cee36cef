"""The PromQL of the dashboard's panels and variables (plain strings; no Grafana here).

Rules every query follows, checked by tests/test_dashboard.py:

* Every selector filters on the dashboard variables its metric has labels for.
* HA pairs: two exporters with the same configuration are two targets of one job (told
  apart by ``instance`` and ``replica``).  Every total first takes ``max by`` the target's
  own labels (job, account, project, region, ...; job, account for account-level series),
  so a bucket, image or target counts once however many replicas report it.
* Scale: range queries never select a per-bucket metric (one series per bucket); image
  totals come from the
  ``instance_account_project_region_type:ucloud_image_bucket_images:sum`` recording rule.
  Instant per-bucket queries are wrapped in ``topk`` with a small k.
* No ``or vector(0)``: a panel whose data is gone shows "No data", not a healthy zero.
"""

from __future__ import annotations

from exporter import metrics as m

# Jobs whose `up` the dashboard shows: `up` exists for every job Prometheus scrapes, and the
# job variable's "All" is `.+`.  Same default as the alerts' job regex (alerts.yml).
EXPORTER_JOBS = "ucloud-image-(exporter|probe).*"

TARGET = 'job=~"$job", instance=~"$instance"'
ACCOUNT = 'account=~"$account", project=~"$project", region=~"$region"'
TYPE = 'type=~"$type"'
BUCKET = 'bucket=~"$bucket"'

# The labels that identify one target / one bucket of one job, across replicas.
TARGET_KEYS = "job, account, project, region"
BUCKET_KEYS = "job, account, project, region, bucket, type"

# `job=~"$job"` comes first: dashboard-linter's matcher check looks at the first `job`
# matcher of a selector.
UP = f'up{{{TARGET}, job=~"$exporter_jobs"}}'
TARGET_UP = f"{m.UP.name}{{{TARGET}, {ACCOUNT}}}"
BUCKETS = f"{m.BUCKETS.name}{{{TARGET}, {ACCOUNT}, {TYPE}}}"
IMAGES_BY_TARGET = (
    f"instance_account_project_region_type:{m.IMAGES.name}:sum{{{TARGET}, {ACCOUNT}, {TYPE}}}"
)
IMAGES = f"{m.IMAGES.name}{{{TARGET}, {ACCOUNT}, {BUCKET}, {TYPE}}}"
CREATED = f"{m.CREATED.name}{{{TARGET}, {ACCOUNT}, {BUCKET}, {TYPE}}}"
LAST_SUCCESS = f"{m.LAST_SUCCESS.name}{{{TARGET}, {ACCOUNT}}}"
DURATION = f"{m.DURATION.name}{{{TARGET}, {ACCOUNT}}}"
ERROR_INFO = f"{m.ERROR_INFO.name}{{{TARGET}, {ACCOUNT}}}"
REQUESTS = f"{m.API_REQUESTS.name}{{{TARGET}, {ACCOUNT}}}"
ERRORS = f"{m.API_ERRORS.name}{{{TARGET}, {ACCOUNT}}}"
ERRORS_5M = (
    f"instance_account_project_region_reason:{m.API_ERRORS.base}:increase5m{{{TARGET}, {ACCOUNT}}}"
)
INVALID_5M = (
    f"instance_account_project_region:{m.INVALID_ENTRIES.base}:increase5m{{{TARGET}, {ACCOUNT}}}"
)
BUILD_INFO = f"{m.BUILD_INFO.name}{{{TARGET}}}"
# Account-level series (discovery, credentials, account-level API requests): no project or
# region label.
PER_ACCOUNT = f'{TARGET}, account=~"$account"'
ACCOUNT_KEYS = "job, account"
ACCOUNT_REQUESTS = f"{m.ACCOUNT_API_REQUESTS.name}{{{PER_ACCOUNT}}}"
ACCOUNT_ERRORS = f"{m.ACCOUNT_API_ERRORS.name}{{{PER_ACCOUNT}}}"
ACCOUNT_ERRORS_5M = (
    f"instance_account_reason:{m.ACCOUNT_API_ERRORS.base}:increase5m{{{PER_ACCOUNT}}}"
)
PROJECT_DISCOVERY_OK = f"{m.PROJECT_DISCOVERY_OK.name}{{{PER_ACCOUNT}}}"
PROJECT_DISCOVERY_TIME = f"{m.PROJECT_DISCOVERY_TIME.name}{{{PER_ACCOUNT}}}"
PROJECT_DISCOVERY_PROJECTS = f"{m.PROJECT_DISCOVERY_PROJECTS.name}{{{PER_ACCOUNT}}}"
CREDENTIALS_EXPIRY = f"{m.CREDENTIALS_EXPIRY.name}{{{PER_ACCOUNT}}}"


def per_target(selector: str, keys: str = TARGET_KEYS) -> str:
    """One series per target (and ``keys``), whatever the number of replicas."""
    return f"max by ({keys}) ({selector})"


def per_bucket(selector: str) -> str:
    return per_target(selector, BUCKET_KEYS)


def per_account(selector: str, extra: str = "") -> str:
    """One series per account (and ``extra`` labels), whatever the number of replicas."""
    return per_target(selector, f"{ACCOUNT_KEYS}, {extra}" if extra else ACCOUNT_KEYS)


def in_range(counter: str, keys: str) -> str:
    """A counter's increase over the range, a series born within it counted whole."""
    return (
        f"max by ({keys}) ("
        f"(increase({counter}[$__range]) and {counter} offset $__range) or {counter})"
    )


def top(k: int, expr: str) -> str:
    return f"topk({k}, {expr})"


# -- Overview --------------------------------------------------------------------------------
SCRAPES_DOWN = f"sum(1 - {UP})"
TARGETS_UP = f"sum({per_target(TARGET_UP)})"
TARGETS_DOWN = f"sum(1 - {per_target(TARGET_UP)})"
BUCKETS_TOTAL = f"sum({per_target(BUCKETS, TARGET_KEYS + ', type')})"
IMAGES_TOTAL = f"sum({per_target(IMAGES_BY_TARGET, TARGET_KEYS + ', type')})"
OLDEST_DATA = f"time() - min({per_target(LAST_SUCCESS)} > 0)"
# Errors in the range, a counter's first errors included: a series born within the range
# counts with its whole value (increase() would miss the increment that created it).
# Account-level requests (GetRegion, GetProjectList, AssumeRole, UHub's) have their own
# counters, with no project or region: both are summed.
ERRORS_IN_RANGE = (
    f"sum({in_range(ERRORS, TARGET_KEYS + ', action, reason')} "
    f"or {in_range(ACCOUNT_ERRORS, ACCOUNT_KEYS + ', action, reason')})"
)

# -- Buckets and images ----------------------------------------------------------------------
BUCKETS_BY_REGION_TYPE = f"sum by (region, type) ({per_target(BUCKETS, TARGET_KEYS + ', type')})"
IMAGES_BY_REGION = f"sum by (region) ({per_target(IMAGES_BY_TARGET, TARGET_KEYS + ', type')})"
TOP_IMAGES = top(20, per_bucket(IMAGES))
TOP_IMAGES_CREATED = top(20, f"{per_bucket(CREATED)} * 1000 and on ({BUCKET_KEYS}) {TOP_IMAGES}")
GROWTH = top(10, f"({per_bucket(IMAGES)} - {per_bucket(IMAGES + ' offset $__range')}) > 0")
NEWEST_CREATED = top(10, f"{per_bucket(CREATED)} * 1000")
NEWEST_IMAGES = top(
    10, f"{per_bucket(IMAGES)} and on ({BUCKET_KEYS}) {top(10, per_bucket(CREATED))}"
)

# -- Exporter health -------------------------------------------------------------------------
REQUEST_RATE = (
    "sum by (account, project, region, action) "
    f"({per_target(f'rate({REQUESTS}[$__rate_interval])', TARGET_KEYS + ', action')})"
)
ERRORS_BY_REASON = (
    f"sum by (reason) ({per_target(ERRORS_5M, TARGET_KEYS + ', reason')} "
    f"or {per_account(ACCOUNT_ERRORS_5M, 'reason')})"
)
ACCOUNT_REQUEST_RATE = (
    "sum by (account, action) "
    f"({per_account(f'rate({ACCOUNT_REQUESTS}[$__rate_interval])', 'action')})"
)
PROJECTS_KNOWN = per_account(PROJECT_DISCOVERY_PROJECTS)
PROJECT_DISCOVERY_STATUS = per_account(PROJECT_DISCOVERY_OK)
PROJECT_DISCOVERY_AGE = f"time() - {per_account(PROJECT_DISCOVERY_TIME)}"
CREDENTIALS_LEFT = f"{per_account(CREDENTIALS_EXPIRY)} - time()"
DATA_AGE = f"time() - {per_target(LAST_SUCCESS)}"
INVALID_ENTRIES = f"sum by (account, project, region) ({per_target(INVALID_5M)})"

# -- Variables: (name, selector of label_values(<selector>, name)) ---------------------------
VARIABLES = (
    ("job", 'up{job=~"$exporter_jobs"}'),
    ("instance", 'up{job=~"$job", job=~"$exporter_jobs"}'),
    ("account", f"ucloud_image_bucket_up{{{TARGET}}}"),
    ("project", f'ucloud_image_bucket_up{{{TARGET}, account=~"$account"}}'),
    ("region", f'ucloud_image_bucket_up{{{TARGET}, account=~"$account", project=~"$project"}}'),
    ("type", f"ucloud_image_buckets{{{TARGET}, {ACCOUNT}}}"),
)

# -- UHub registry ---------------------------------------------------------------------------
# UHub series are per (account, project) (no region label); they exist only for accounts
# with `uhub: true`, so every panel of the row shows "No data" when no account has UHub.
UHUB = f'{TARGET}, account=~"$account", project=~"$project"'
UHUB_KEYS = "job, account, project"
REPO_KEYS = "job, account, project, repo"
IMAGE_KEYS = "job, account, project, repo, image"
UHUB_UP = f"{m.UHUB_UP.name}{{{UHUB}}}"
UHUB_LAST_SUCCESS = f"{m.UHUB_LAST_SUCCESS.name}{{{UHUB}}}"
UHUB_REPOS = f"{m.UHUB_REPOS.name}{{{UHUB}}}"
UHUB_REPO_INFO = f"{m.UHUB_REPO_INFO.name}{{{UHUB}}}"
UHUB_REPO_IMAGES = f"{m.UHUB_REPO_IMAGES.name}{{{UHUB}}}"
UHUB_PULLS = f"{m.UHUB_IMAGE_PULLS.name}{{{UHUB}}}"
UHUB_UPDATED = f"{m.UHUB_IMAGE_UPDATED.name}{{{UHUB}}}"
UHUB_TAGS = f"{m.UHUB_IMAGE_TAGS.name}{{{UHUB}}}"
#: Images not updated for this many days are listed as stale.
STALE_IMAGE_DAYS = 90

UHUB_REPOS_PER_PROJECT = per_target(UHUB_REPOS, UHUB_KEYS)
UHUB_DATA_AGE = f"time() - ({per_target(UHUB_LAST_SUCCESS, UHUB_KEYS)} > 0)"
UHUB_REPO_TABLE = (
    f"{per_target(UHUB_REPO_INFO, REPO_KEYS + ', shared, internet_access')} "
    f"* on ({REPO_KEYS}) group_left () {per_target(UHUB_REPO_IMAGES, REPO_KEYS)}"
)
UHUB_TOP_TAGS = top(20, per_target(UHUB_TAGS, IMAGE_KEYS))
# PullCount is the API's lifetime count: a series born within the range (the exporter
# started, UHub was enabled, a new image) is NOT counted with its whole value here, unlike
# the exporter's own counters; its pulls before the first scrape are unknown.
UHUB_PULLS_IN_RANGE = per_target(f"increase({UHUB_PULLS}[$__range])", IMAGE_KEYS)
UHUB_TOP_PULLS = top(10, per_target(UHUB_PULLS, IMAGE_KEYS))
UHUB_TOP_PULLS_RANGE = top(10, f"{UHUB_PULLS_IN_RANGE} and on ({IMAGE_KEYS}) {UHUB_TOP_PULLS}")
UHUB_STALE_IMAGES = top(
    20, f"(time() - {per_target(UHUB_UPDATED, IMAGE_KEYS)}) / 86400 > {STALE_IMAGE_DAYS}"
)
UHUB_STALE_UPDATED = top(
    20, f"{per_target(UHUB_UPDATED, IMAGE_KEYS)} * 1000 and on ({IMAGE_KEYS}) {UHUB_STALE_IMAGES}"
)

# -- Images inside buckets -------------------------------------------------------------------
# Accounts with `docker_images: true`.  Health series are per (account, project) (no region);
# the per-image series (one per image inside a bucket: unbounded) are only read by
# topk-bounded instant queries.
DOCKER = UHUB
DOCKER_IMAGE = f"{TARGET}, {ACCOUNT}, {BUCKET}"
DOCKER_PROJECT_KEYS = "job, account, project"
DOCKER_IMAGE_KEYS = "job, account, project, region, bucket, image"
DOCKER_UP = f"{m.DOCKER_UP.name}{{{DOCKER}}}"
DOCKER_LAST_SUCCESS = f"{m.DOCKER_LAST_SUCCESS.name}{{{DOCKER}}}"
DOCKER_LISTED_BUCKETS = f"{m.DOCKER_LISTED_BUCKETS.name}{{{DOCKER}}}"
DOCKER_TAGS = f"{m.DOCKER_IMAGE_TAGS.name}{{{DOCKER_IMAGE}}}"
DOCKER_UPDATED = f"{m.DOCKER_IMAGE_UPDATED.name}{{{DOCKER_IMAGE}}}"
DOCKER_NEWEST_TAG = f"{m.DOCKER_IMAGE_NEWEST_TAG.name}{{{DOCKER_IMAGE}}}"
DOCKER_OLDEST_TAG = f"{m.DOCKER_IMAGE_OLDEST_TAG.name}{{{DOCKER_IMAGE}}}"


def per_docker_image(selector: str) -> str:
    return per_target(selector, DOCKER_IMAGE_KEYS)


DOCKER_DATA_AGE = f"time() - ({per_target(DOCKER_LAST_SUCCESS, DOCKER_PROJECT_KEYS)} > 0)"
DOCKER_LISTED = per_target(DOCKER_LISTED_BUCKETS, DOCKER_PROJECT_KEYS)
DOCKER_TOP_TAGS = top(20, per_docker_image(DOCKER_TAGS))


def with_top_tags(selector: str) -> str:
    """``selector``'s timestamp in milliseconds for the images of ``DOCKER_TOP_TAGS``."""
    return top(
        20, f"{per_docker_image(selector)} * 1000 and on ({DOCKER_IMAGE_KEYS}) {DOCKER_TOP_TAGS}"
    )


DOCKER_TOP_TAGS_OLDEST = with_top_tags(DOCKER_OLDEST_TAG)
DOCKER_TOP_TAGS_NEWEST = with_top_tags(DOCKER_NEWEST_TAG)
DOCKER_TOP_TAGS_UPDATED = with_top_tags(DOCKER_UPDATED)
# The 20 images whose oldest tag is oldest, in days: how far back a clean-up would reach.
DOCKER_OLDEST_TAG_DAYS = top(20, f"(time() - {per_docker_image(DOCKER_OLDEST_TAG)}) / 86400")
DOCKER_OLDEST_TAG_AT = top(
    20,
    f"{per_docker_image(DOCKER_OLDEST_TAG)} * 1000 "
    f"and on ({DOCKER_IMAGE_KEYS}) {DOCKER_OLDEST_TAG_DAYS}",
)
DOCKER_OLDEST_TAG_TAGS = top(
    20, f"{per_docker_image(DOCKER_TAGS)} and on ({DOCKER_IMAGE_KEYS}) {DOCKER_OLDEST_TAG_DAYS}"
)

# -- Custom host images ----------------------------------------------------------------------
# Accounts with `host_images: true`: per target (account, project, region), the per-image
# series (one per custom image: unbounded) only in topk/bottomk-bounded instant queries.
HOST = f"{TARGET}, {ACCOUNT}"
HOST_IMAGE_KEYS = "job, account, project, region, image_id"
HOST_UP = f"{m.HOST_UP.name}{{{HOST}}}"
HOST_LAST_SUCCESS = f"{m.HOST_LAST_SUCCESS.name}{{{HOST}}}"
HOST_IMAGES = f"{m.HOST_IMAGES.name}{{{HOST}}}"
HOST_QUOTA = f"{m.HOST_QUOTA.name}{{{HOST}}}"
HOST_SIZE = f"{m.HOST_IMAGE_SIZE.name}{{{HOST}}}"
HOST_CREATED = f"{m.HOST_IMAGE_CREATED.name}{{{HOST}}}"
HOST_EOL = f"{m.HOST_IMAGE_EOL.name}{{{HOST}}}"
HOST_INFO = f"{m.HOST_IMAGE_INFO.name}{{{HOST}}}"
#: The quota share from which the dashboard is orange; the alert fires from it.
HOST_QUOTA_WARNING = 0.9


def per_host_image(selector: str) -> str:
    return per_target(selector, HOST_IMAGE_KEYS)


def named(expr: str) -> str:
    """``expr`` (one series per image) with the image's name and os from its info series."""
    info = per_target(HOST_INFO, f"{HOST_IMAGE_KEYS}, name, os")
    return f"({expr}) * on ({HOST_IMAGE_KEYS}) group_left (name, os) {info}"


HOST_IMAGES_PER_TARGET = per_target(HOST_IMAGES, f"{TARGET_KEYS}, state")
HOST_DATA_AGE = f"time() - ({per_target(HOST_LAST_SUCCESS)} > 0)"
HOST_IMAGES_BY_STATE = f"sum by (region, state) ({HOST_IMAGES_PER_TARGET})"
# Regions without a known quota have no quota series and drop out of the division.
HOST_QUOTA_USED = f"sum by ({TARGET_KEYS}) ({HOST_IMAGES_PER_TARGET}) / {per_target(HOST_QUOTA)}"
HOST_EOL_DAYS = f"bottomk(20, {named(f'({per_host_image(HOST_EOL)} - time()) / 86400')})"
HOST_EOL_AT = top(
    20, f"{named(f'{per_host_image(HOST_EOL)} * 1000')} and on ({HOST_IMAGE_KEYS}) {HOST_EOL_DAYS}"
)
HOST_TOP_SIZE = top(20, named(per_host_image(HOST_SIZE)))
HOST_TOP_SIZE_CREATED = top(
    20,
    f"{named(f'{per_host_image(HOST_CREATED)} * 1000')} and on ({HOST_IMAGE_KEYS}) {HOST_TOP_SIZE}",
)

# -- The series budget -----------------------------------------------------------------------
# Per exporter instance and family (no target labels): 0 for a family kept whole.
SERIES_DROPPED = f"{m.SERIES_DROPPED.name}{{{TARGET}}}"
