#!/usr/bin/env python3
"""Generate the Grafana dashboard ``grafana/dashboards/ucloud-image-buckets.json``.

The dashboard JSON is committed, but it is *written by this script* with
grafana-foundation-sdk, Grafana's typed builder (a development dependency: the
``test`` extra).  Edit the panels here and the queries in ``queries.py``, then::

    python grafana/generate.py           # rewrite the JSON
    python grafana/generate.py --check   # exit 1 if the committed JSON is stale

Every panel is built by the same few helpers, so every panel and query uses the
``${datasource}`` variable and every panel has a description and a unit.

The SDK expresses everything this dashboard needs except the layout of the
transformations' options (Grafana keeps those untyped: they are plain dicts).
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import queries as q
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.cog import builder as cog
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import dashboard as model
from panels import (
    BUCKET_COLUMNS,
    DATASOURCE,
    RED_FROM_1,
    Panel,
    query,
    stat_panel,
    state_panel,
    table_panel,
    timeseries_panel,
)

UID = "ucloud-image-buckets"
TITLE = "UCloud image buckets"
OUTPUT = Path(__file__).resolve().parent / "dashboards" / f"{UID}.json"
PROJECT_URL = "https://github.com/ucloud-image-exporter/ucloud-image-exporter"
DOCS_URL = f"{PROJECT_URL}/blob/main/docs/dashboards-and-alerts.md"
def overview() -> list[tuple[Panel, int, int]]:
    return [
        (stat_panel(
            "Exporter scrapes down",
            "Scrape targets of the exporter's job(s) that Prometheus failed to scrape the last "
            "time (1 - up): the exporter itself, or each probe in /probe mode. Red means "
            "the exporter is down and every other panel shows no or old data. 'no scrape "
            "target': Prometheus has no target of a job matching $exporter_jobs.",
            query(q.SCRAPES_DOWN, "down"), thresholds=RED_FROM_1,
            no_value="no scrape target"), 4, 4),
        (stat_panel(
            "Targets up",
            "Account x region targets whose last listing succeeded on at least one exporter "
            "replica (ucloud_image_bucket_up). No data while the exporter is down.",
            query(q.TARGETS_UP, "up")), 3, 4),
        (stat_panel(
            "Targets down",
            "Account x region targets whose last listing failed on every replica "
            "(ucloud_image_bucket_up == 0). No data while the exporter is down: see "
            "'Exporter scrapes down'.",
            query(q.TARGETS_DOWN, "down"), thresholds=RED_FROM_1), 3, 4),
        (stat_panel(
            "Buckets",
            "Image buckets in the selected accounts, regions and types "
            "(ucloud_image_buckets, each target counted once across replicas).",
            query(q.BUCKETS_TOTAL, "buckets")), 3, 4),
        (stat_panel(
            "Images",
            "Images in the selected accounts, regions and types, from the recording rule "
            "instance_account_region_type:ucloud_image_bucket_images:sum (one series per "
            "target, not per bucket); the bucket filter does not apply here.",
            query(q.IMAGES_TOTAL, "images")), 3, 4),
        (stat_panel(
            "Oldest data",
            "Age of the oldest successfully fetched listing among the selected targets "
            "(time() - ucloud_image_bucket_last_success_timestamp_seconds). Orange at 10 "
            "minutes, red at 30 minutes, the threshold of the UCloudImageDataStale alert.",
            query(q.OLDEST_DATA, "age"), unit="s",
            thresholds=(("green", None), ("orange", 600), ("red", 1800))), 4, 4),
        (stat_panel(
            "API errors in range",
            "Failed UCloud API requests in the selected time range, all reasons "
            "(ucloud_image_bucket_api_errors_total; a counter born within the range counts "
            "with its whole value, so a first error is not missed).",
            query(q.ERRORS_IN_RANGE, instant=True), graph=False,
            thresholds=(("green", None), ("orange", 1))), 4, 4),
    ]


def buckets_and_images() -> list[tuple[Panel, int, int]]:
    return [
        (timeseries_panel(
            "Buckets by region and type",
            "Image buckets per region and bucket type over time, summed over the selected "
            "accounts.", query(q.BUCKETS_BY_REGION_TYPE, "{{region}} {{type}}"), decimals=0),
         12, 9),
        (timeseries_panel(
            "Images by region",
            "Images per region over time, summed over the selected accounts and types, from "
            "the per-target recording rule (the bucket filter does not apply).",
            query(q.IMAGES_BY_REGION, "{{region}}"), decimals=0), 12, 9),
        (table_panel(
            "Top buckets by image count",
            "The 20 selected buckets holding the most images now, with their creation time. "
            "Two instant topk queries merged into one row per bucket.",
            [("A", q.TOP_IMAGES), ("B", q.TOP_IMAGES_CREATED)],
            [*BUCKET_COLUMNS, ("Value #A", "Images"), ("Value #B", "Created")],
            sort_by="Images").override_by_name("Created", [
                model.DynamicConfigValue(id_val="unit", value="dateTimeAsIso"),
                model.DynamicConfigValue(id_val="custom.width", value=200)]), 24, 10),
        (table_panel(
            "Biggest image-count growth in range",
            "The 10 selected buckets whose image count grew the most over the selected time "
            "range (now minus the range's start). Buckets created within the range have no "
            "earlier value and are not listed; buckets that did not grow are left out.",
            [("A", q.GROWTH)], [*BUCKET_COLUMNS, ("Value", "Growth")], sort_by="Growth"), 12, 9),
        (table_panel(
            "Newest buckets",
            "The 10 most recently created selected buckets and their current image count.",
            [("A", q.NEWEST_CREATED), ("B", q.NEWEST_IMAGES)],
            [*BUCKET_COLUMNS, ("Value #A", "Created"), ("Value #B", "Images")],
            sort_by="Created", unit="dateTimeAsIso").override_by_name("Images", [
                model.DynamicConfigValue(id_val="unit", value="none")]), 12, 9),
    ]


def exporter_health() -> list[tuple[Panel, int, int]]:
    return [
        (state_panel(
            "Exporter scrapes",
            "Prometheus's own up for the exporter's scrape targets: UP when the last scrape "
            "succeeded, DOWN when it failed (process down, timeout, HTTP error).",
            query(q.UP, "{{job}} {{instance}}")), 12, 9),
        (state_panel(
            "Target status",
            "ucloud_image_bucket_up per account x region target and exporter instance: UP "
            "when the target's last listing succeeded, DOWN when it failed. Gaps mean the "
            "exporter was not scraped.",
            query(q.TARGET_UP, "{{account}} / {{region}} ({{instance}})")), 12, 9),
        (table_panel(
            "Failing targets",
            "Targets whose last listing failed, with the reason (ucloud_image_bucket_error_info: "
            "retcode_<n>, http_<status>, timeout, transport, decode, paging, deadline). Empty "
            "when every target is fine. docs/runbooks.md says what to do for each reason.",
            [("A", q.ERROR_INFO)],
            [("account", "Account"), ("region", "Region"), ("reason", "Reason"),
             ("instance", "Instance")], hide=("Time", "__name__", "job", "Value"),
            sort_by="Account"), 12, 9),
        (timeseries_panel(
            "Listing duration per target",
            "How long the last bucket listing of each target took, retries included "
            "(ucloud_image_bucket_scrape_duration_seconds), per exporter instance.",
            query(q.DURATION, "{{account}} / {{region}} ({{instance}})"), unit="s"), 12, 9),
        (timeseries_panel(
            "API request rate",
            "UCloud API requests per second by target and API action, one exporter's worth "
            "(rate of ucloud_image_bucket_api_requests_total, max over replicas).",
            query(q.REQUEST_RATE, "{{account}} / {{region}} {{action}}"), unit="reqps"), 12, 9),
        (timeseries_panel(
            "API errors by reason (per 5 min)",
            "Failed UCloud API requests in the 5 minutes before each point, by reason, first "
            "errors included. retcode_170-174 and 292-299 are authentication / permission "
            "errors, retcode_153 and http_429 throttling; timeout, transport, decode and "
            "deadline are client-side failures.",
            query(q.ERRORS_BY_REASON, "{{reason}}"), decimals=0), 12, 9),
        (timeseries_panel(
            "Data age per target",
            "Seconds since each target's data was last fetched successfully by any replica "
            "(time() - ucloud_image_bucket_last_success_timestamp_seconds).",
            query(q.DATA_AGE, "{{account}} / {{region}}"), unit="s"), 12, 9),
        (timeseries_panel(
            "Invalid bucket entries (per 5 min)",
            "Bucket entries with a missing or malformed field in the 5 minutes before each "
            "point (ucloud_image_bucket_invalid_entries_total, all fields; the bucket still "
            "counts). Non-zero means the API's answer changed or it leaves out zero values. "
            "No data until the first one.",
            query(q.INVALID_ENTRIES, "{{account}} / {{region}}"), decimals=0), 12, 9),
        (table_panel(
            "Exporter build info",
            "Version of each exporter instance and the Python it runs on "
            "(ucloud_image_bucket_exporter_build_info; /metrics only, not /probe).",
            [("A", q.BUILD_INFO)],
            [("instance", "Instance"), ("job", "Job"), ("version", "Version"),
             ("python_version", "Python")], hide=("Time", "__name__", "Value"),
            sort_by="Instance"), 24, 6),
    ]


def query_variable(name: str, label: str, selector: str, description: str) -> dash.QueryVariable:
    return (dash.QueryVariable(name).label(label).description(description)
            .datasource(DATASOURCE).query(f"label_values({selector}, {name})")
            .multi(True).include_all(True).all_value(".+")
            .current(model.VariableOption(selected=True, text=["All"], value=["$__all"]))
            .refresh(model.VariableRefresh.ON_TIME_RANGE_CHANGED)
            .sort(model.VariableSort.ALPHABETICAL_ASC))


LABELS = {"job": "Job", "instance": "Instance", "account": "Account", "region": "Region",
          "type": "Bucket type"}
DESCRIPTIONS = {
    "job": "Prometheus job(s) scraping the exporter (/metrics or /probe), from up.",
    "instance": "Exporter instance(s); in /probe mode the ACCOUNT/REGION probe targets.",
    "account": "UCloud account(s) as named in the exporter configuration.",
    "region": "UCloud region(s).",
    "type": "Bucket type: private, public (unknown for an unrecognised BucketType).",
}


def variables() -> list[cog.Builder[model.VariableModel]]:
    found: list[cog.Builder[model.VariableModel]] = [
        dash.DatasourceVariable("datasource").label("Data source").type("prometheus")
        .description("The Prometheus server that scrapes the exporter."),
        dash.ConstantVariable("exporter_jobs").value(q.EXPORTER_JOBS)
        .description("Regex of the exporter's job names, for Prometheus's own up (which "
                     "every job has). Same default as the alerts; change it on import if "
                     "your job is named otherwise."),
    ]
    found += [query_variable(name, LABELS[name], selector, DESCRIPTIONS[name])
              for name, selector in q.VARIABLES]
    found.append(
        dash.TextBoxVariable("bucket").label("Bucket (regex)").default_value(".*")
        .current(model.VariableOption(selected=False, text=".*", value=".*"))
        .description("Regular expression on the bucket name, for the per-bucket tables. "
                     "Anchored by Prometheus: use prod-.* for names starting with prod-."))
    return found


def dashboard() -> model.Dashboard:
    board = (
        dash.Dashboard(TITLE).uid(UID).readonly()
        .description("Image buckets of UCloud accounts (GetImageBucketList) as exposed by "
                     "ucloud-image-exporter, and the exporter's own health.")
        .tags(["ucloud", "image-buckets", "prometheus", "ucloud-image-exporter"])
        .tooltip(model.DashboardCursorSync.CROSSHAIR).refresh("5m").time("now-24h", "now")
        .timezone("").version(1)
        .annotation(dash.AnnotationQuery().name("Annotations & Alerts").built_in(1)
                    .datasource(model.DataSourceRef(type_val="grafana", uid="-- Grafana --"))
                    .enable(True).hide(True).icon_color("rgba(0, 211, 255, 1)").type("dashboard"))
        .link(dash.DashboardLink("ucloud-image-exporter").type(model.DashboardLinkType.LINK)
              .icon("external link").tooltip("The exporter's project page").url(PROJECT_URL)
              .target_blank(True))
        .link(dash.DashboardLink("Dashboard & alerts docs").type(model.DashboardLinkType.LINK)
              .icon("doc").tooltip("How this dashboard and the alerts work").url(DOCS_URL)
              .target_blank(True))
        .variables(variables())
    )
    next_id = 1
    for title, items in (("Overview", overview()), ("Buckets and images", buckets_and_images()),
                         ("Exporter health", exporter_health())):
        board = board.with_row(dash.Row(title).id(next_id))
        next_id += 1
        for panel, width, height in items:
            board = board.with_panel(panel.id(next_id).span(width).height(height))
            next_id += 1
    return board.build()


def render() -> str:
    return json.dumps(dashboard(), cls=JSONEncoder, indent=2, sort_keys=True) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 if the committed dashboard is stale")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="dashboard JSON path")
    args = parser.parse_args(argv)
    output: Path = args.output
    text = render()
    if not args.check:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
        return 0
    current = output.read_text(encoding="utf-8") if output.exists() else ""
    if current == text:
        return 0
    diff = difflib.unified_diff(current.splitlines(keepends=True),
                                text.splitlines(keepends=True), fromfile=str(output),
                                tofile="generated", n=1)
    sys.stderr.writelines(list(diff)[:60])
    sys.stderr.write(f"\n{output} is stale: run python grafana/generate.py\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
