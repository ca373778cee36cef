#!/usr/bin/env python3
"""Generate the Grafana dashboard ``grafana/dashboards/ucloud-image-buckets.json``.

The dashboard JSON is committed, but it is *written by this script*: edit the
panels here, then run::

    python grafana/generate.py           # rewrite the JSON
    python grafana/generate.py --check   # exit 1 if the committed JSON is stale

Only the standard library is used, so the script runs anywhere Python >= 3.11
does.  Every panel is built by the same few helpers, which keeps the things a
reviewer would otherwise have to check by hand consistent: every panel and
query uses the ``${datasource}`` variable, every query filters on the dashboard
variables, every panel has a description and a unit.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

JSON = dict[str, Any]

UID = "ucloud-image-buckets"
TITLE = "UCloud image buckets"
OUTPUT = Path(__file__).resolve().parent / "dashboards" / f"{UID}.json"

# Where the dashboard's "Project" link points.  Change it when the project's
# public home is known (it is a plain link; nothing else depends on it).
PROJECT_URL = "https://github.com/ucloud-image-exporter/ucloud-image-exporter"
DOCS_URL = f"{PROJECT_URL}/blob/main/docs/dashboards-and-alerts.md"

DATASOURCE: JSON = {"type": "prometheus", "uid": "${datasource}"}

# Min step of every range query.  The exporter is meant to be scraped every 60 s
# (see prometheus/prometheus.yml); with a 1m min step Grafana's $__rate_interval
# is at least 4m, so rate() always sees several samples even when the data
# source's "scrape interval" setting was left at Grafana's 15 s default.
MIN_STEP = "1m"

# Label matchers shared by the queries.  The order is fixed so that the
# generated JSON is stable.
TARGET_MATCHERS = ('job=~"$job"', 'instance=~"$instance"')
ACCOUNT_MATCHERS = ('account=~"$account"', 'region=~"$region"')
TYPE_MATCHER = 'type=~"$type"'
BUCKET_MATCHER = 'bucket=~"$bucket"'

# Metric -> the dashboard-variable labels it carries (besides job/instance).
METRIC_LABELS: dict[str, tuple[str, ...]] = {
    "ucloud_image_buckets": ("account", "region", "type"),
    "ucloud_image_bucket_images": ("account", "region", "bucket", "type"),
    "ucloud_image_bucket_created_timestamp_seconds": ("account", "region", "bucket", "type"),
    "ucloud_image_bucket_up": ("account", "region"),
    "ucloud_image_bucket_error_info": ("account", "region"),
    "ucloud_image_bucket_scrape_duration_seconds": ("account", "region"),
    "ucloud_image_bucket_last_success_timestamp_seconds": ("account", "region"),
    "ucloud_image_bucket_api_requests_total": ("account", "region"),
    "ucloud_image_bucket_api_errors_total": ("account", "region"),
    "ucloud_image_bucket_invalid_entries_total": ("account", "region"),
    "ucloud_image_bucket_exporter_build_info": (),
}


def sel(metric: str) -> str:
    """A selector for ``metric`` filtered by every dashboard variable it has a label for."""
    labels = METRIC_LABELS[metric]
    matchers = list(TARGET_MATCHERS)
    if "account" in labels:
        matchers.extend(ACCOUNT_MATCHERS)
    if "bucket" in labels:
        matchers.append(BUCKET_MATCHER)
    if "type" in labels:
        matchers.append(TYPE_MATCHER)
    return f"{metric}{{{', '.join(matchers)}}}"


# --------------------------------------------------------------------------
# Targets
# --------------------------------------------------------------------------


def range_target(expr: str, legend: str, ref_id: str = "A") -> JSON:
    return {
        "datasource": DATASOURCE,
        "editorMode": "code",
        "expr": expr,
        "instant": False,
        "interval": MIN_STEP,
        "legendFormat": legend,
        "range": True,
        "refId": ref_id,
    }


def instant_target(expr: str, ref_id: str = "A", *, table: bool = False) -> JSON:
    target: JSON = {
        "datasource": DATASOURCE,
        "editorMode": "code",
        "expr": expr,
        "instant": True,
        "legendFormat": "__auto",
        "range": False,
        "refId": ref_id,
    }
    if table:
        target["format"] = "table"
    return target


# --------------------------------------------------------------------------
# Panels
# --------------------------------------------------------------------------


def thresholds(*steps: tuple[str, float | None]) -> JSON:
    return {
        "mode": "absolute",
        "steps": [{"color": color, "value": value} for color, value in steps],
    }


GREEN_ONLY = thresholds(("green", None))


def _panel(
    kind: str,
    title: str,
    description: str,
    unit: str,
    targets: list[JSON],
    *,
    defaults: JSON | None = None,
    overrides: list[JSON] | None = None,
    options: JSON | None = None,
    transformations: list[JSON] | None = None,
) -> JSON:
    field_defaults: JSON = {"unit": unit}
    field_defaults.update(defaults or {})
    panel: JSON = {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "fieldConfig": {"defaults": field_defaults, "overrides": overrides or []},
        "options": options or {},
        "targets": targets,
    }
    if transformations:
        panel["transformations"] = transformations
    return panel


def stat(
    title: str,
    description: str,
    unit: str,
    target: JSON,
    steps: JSON = GREEN_ONLY,
    *,
    graph: bool = True,
) -> JSON:
    return _panel(
        "stat",
        title,
        description,
        unit,
        [target],
        defaults={"color": {"mode": "thresholds"}, "decimals": 0, "thresholds": steps},
        options={
            "colorMode": "value",
            "graphMode": "area" if graph else "none",
            "justifyMode": "auto",
            "orientation": "auto",
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "showPercentChange": False,
            "textMode": "auto",
            "wideLayout": True,
        },
    )


def timeseries(
    title: str,
    description: str,
    unit: str,
    targets: list[JSON],
    *,
    decimals: int | None = None,
    stack: bool = False,
) -> JSON:
    defaults: JSON = {
        "color": {"mode": "palette-classic"},
        "custom": {
            "axisPlacement": "auto",
            "drawStyle": "line",
            "fillOpacity": 10,
            "lineInterpolation": "linear",
            "lineWidth": 1,
            "showPoints": "never",
            "spanNulls": False,
            "stacking": {"group": "A", "mode": "normal" if stack else "none"},
        },
        "min": 0,
        "thresholds": GREEN_ONLY,
    }
    if decimals is not None:
        defaults["decimals"] = decimals
    return _panel(
        "timeseries",
        title,
        description,
        unit,
        targets,
        defaults=defaults,
        options={
            "legend": {
                "calcs": ["lastNotNull", "max"],
                "displayMode": "table",
                "placement": "bottom",
                "showLegend": True,
            },
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
    )


def organize(columns: Sequence[tuple[str, str]], hide: Iterable[str] = ()) -> JSON:
    """Keep ``columns`` (source name, shown name) in that order; hide the rest we know of."""
    return {
        "id": "organize",
        "options": {
            "excludeByName": dict.fromkeys(hide, True),
            "indexByName": {source: index for index, (source, _) in enumerate(columns)},
            "renameByName": {source: shown for source, shown in columns if source != shown},
        },
    }


# Columns of instant "table" queries that a bucket table never shows.
HIDDEN_COLUMNS = ("Time", "__name__", "job", "instance")
BUCKET_COLUMNS = (
    ("bucket", "Bucket"),
    ("account", "Account"),
    ("region", "Region"),
    ("type", "Type"),
)


def column_unit(name: str, unit: str, width: int | None = None) -> JSON:
    properties: list[JSON] = [{"id": "unit", "value": unit}]
    if width is not None:
        properties.append({"id": "custom.width", "value": width})
    return {"matcher": {"id": "byName", "options": name}, "properties": properties}


def table(
    title: str,
    description: str,
    unit: str,
    targets: list[JSON],
    transformations: list[JSON],
    *,
    sort_by: str,
    overrides: list[JSON] | None = None,
) -> JSON:
    return _panel(
        "table",
        title,
        description,
        unit,
        targets,
        defaults={
            "color": {"mode": "thresholds"},
            "custom": {
                "align": "auto",
                "cellOptions": {"type": "auto"},
                "filterable": True,
                "inspect": False,
            },
            "thresholds": GREEN_ONLY,
        },
        overrides=overrides,
        options={
            "cellHeight": "sm",
            "footer": {"countRows": False, "fields": "", "reducer": ["sum"], "show": False},
            "showHeader": True,
            "sortBy": [{"desc": True, "displayName": sort_by}],
        },
        transformations=transformations,
    )


def row(title: str) -> JSON:
    return {"type": "row", "title": title, "collapsed": False, "panels": []}


# --------------------------------------------------------------------------
# The dashboard
# --------------------------------------------------------------------------

AUTH_REASONS = "retcode_(17[0-4]|29[2-9])"


def overview() -> list[tuple[JSON, int, int]]:
    up = sel("ucloud_image_bucket_up")
    return [
        (
            stat(
                "Buckets",
                "Number of image buckets in the selected accounts, regions and types "
                "(sum of ucloud_image_buckets).",
                "none",
                range_target(f"sum({sel('ucloud_image_buckets')})", "buckets"),
            ),
            4,
            4,
        ),
        (
            stat(
                "Images",
                "Number of images in the selected buckets "
                "(sum of ucloud_image_bucket_images; the bucket filter applies).",
                "none",
                range_target(f"sum({sel('ucloud_image_bucket_images')})", "images"),
            ),
            4,
            4,
        ),
        (
            stat(
                "Targets up",
                "Account x region targets whose last listing succeeded "
                "(ucloud_image_bucket_up == 1).",
                "none",
                range_target(f"count({up} == 1) or vector(0)", "up"),
            ),
            4,
            4,
        ),
        (
            stat(
                "Targets down",
                "Account x region targets whose last listing failed "
                "(ucloud_image_bucket_up == 0). An exporter that is down exposes no "
                "targets at all: watch the Prometheus alerts for that.",
                "none",
                range_target(f"count({up} == 0) or vector(0)", "down"),
                thresholds(("green", None), ("red", 1)),
            ),
            4,
            4,
        ),
        (
            stat(
                "Oldest data",
                "Age of the oldest successfully fetched listing among the selected "
                "targets (time() - ucloud_image_bucket_last_success_timestamp_seconds). "
                "Turns orange at 10 minutes and red at 30 minutes, the threshold of the "
                "UCloudImageDataStale alert.",
                "s",
                range_target(
                    "time() - min("
                    + sel("ucloud_image_bucket_last_success_timestamp_seconds")
                    + ")",
                    "age",
                ),
                thresholds(("green", None), ("orange", 600), ("red", 1800)),
            ),
            4,
            4,
        ),
        (
            stat(
                "API errors in range",
                "Failed UCloud API requests over the selected time range, all reasons "
                "(increase of ucloud_image_bucket_api_errors_total over $__range).",
                "none",
                instant_target(
                    "sum(increase("
                    + sel("ucloud_image_bucket_api_errors_total")
                    + "[$__range])) or vector(0)"
                ),
                thresholds(("green", None), ("orange", 1)),
                graph=False,
            ),
            4,
            4,
        ),
    ]


def buckets_and_images() -> list[tuple[JSON, int, int]]:
    images = sel("ucloud_image_bucket_images")
    created = sel("ucloud_image_bucket_created_timestamp_seconds")
    bucket_keys = "job, instance, account, region, bucket, type"
    top_images = f"topk(20, {images})"
    newest = f"topk(10, {created})"
    return [
        (
            timeseries(
                "Buckets by region and type",
                "Number of image buckets per region and bucket type (private / public) "
                "over time, summed over the selected accounts.",
                "none",
                [
                    range_target(
                        f"sum by (region, type) ({sel('ucloud_image_buckets')})",
                        "{{region}} {{type}}",
                    )
                ],
                decimals=0,
            ),
            12,
            9,
        ),
        (
            timeseries(
                "Images by region",
                "Number of images per region over time, summed over the selected "
                "accounts, buckets and types.",
                "none",
                [range_target(f"sum by (region) ({images})", "{{region}}")],
                decimals=0,
            ),
            12,
            9,
        ),
        (
            table(
                "Top buckets by image count",
                "The 20 selected buckets holding the most images right now, with their "
                "creation time. Instant queries merged into one row per bucket.",
                "none",
                [
                    instant_target(top_images, "A", table=True),
                    instant_target(
                        f"{created} * 1000 and on({bucket_keys}) {top_images}",
                        "B",
                        table=True,
                    ),
                ],
                [
                    {"id": "merge", "options": {}},
                    organize(
                        [*BUCKET_COLUMNS, ("Value #A", "Images"), ("Value #B", "Created")],
                        HIDDEN_COLUMNS,
                    ),
                ],
                sort_by="Images",
                overrides=[column_unit("Created", "dateTimeAsIso", 200)],
            ),
            24,
            10,
        ),
        (
            table(
                "Biggest image-count growth in range",
                "The 10 selected buckets whose image count grew the most over the "
                "selected time range: current value minus the value one range ago "
                "(ucloud_image_bucket_images is a gauge, so this is a plain difference, "
                "not increase()). Buckets created inside the range have no earlier "
                "value and are not listed; buckets that did not grow are left out.",
                "none",
                [
                    instant_target(
                        f"topk(10, ({images} - {images} offset $__range) > 0)", "A", table=True
                    )
                ],
                [organize([*BUCKET_COLUMNS, ("Value", "Growth")], HIDDEN_COLUMNS)],
                sort_by="Growth",
            ),
            12,
            9,
        ),
        (
            table(
                "Newest buckets",
                "The 10 most recently created selected buckets "
                "(topk of ucloud_image_bucket_created_timestamp_seconds) and their "
                "current image count.",
                "dateTimeAsIso",
                [
                    instant_target(f"{newest} * 1000", "A", table=True),
                    instant_target(f"{images} and on({bucket_keys}) {newest}", "B", table=True),
                ],
                [
                    {"id": "merge", "options": {}},
                    organize(
                        [*BUCKET_COLUMNS, ("Value #A", "Created"), ("Value #B", "Images")],
                        HIDDEN_COLUMNS,
                    ),
                ],
                sort_by="Created",
                overrides=[column_unit("Images", "none")],
            ),
            12,
            9,
        ),
    ]


def exporter_health() -> list[tuple[JSON, int, int]]:
    up = sel("ucloud_image_bucket_up")
    target_status = _panel(
        "state-timeline",
        "Target status",
        "ucloud_image_bucket_up per account x region target and exporter instance: "
        "UP when the target's last GetImageBucketList listing succeeded, DOWN when it "
        "failed. Gaps mean the exporter was not scraped.",
        "none",
        [range_target(up, "{{account}} / {{region}} ({{instance}})")],
        defaults={
            "color": {"mode": "thresholds"},
            "custom": {"fillOpacity": 80, "lineWidth": 0},
            "mappings": [
                {
                    "type": "value",
                    "options": {
                        "0": {"color": "red", "index": 0, "text": "DOWN"},
                        "1": {"color": "green", "index": 1, "text": "UP"},
                    },
                }
            ],
            "thresholds": thresholds(("red", None), ("green", 1)),
        },
        options={
            "alignValue": "left",
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": False},
            "mergeValues": True,
            "rowHeight": 0.9,
            "showValue": "auto",
            "tooltip": {"mode": "single", "sort": "none"},
        },
    )
    failing = table(
        "Failing targets",
        "Targets whose last listing failed, with the reason "
        "(ucloud_image_bucket_error_info: retcode_<n>, http_<status>, timeout, "
        "transport, decode, paging, deadline). Empty when every target is fine. "
        "The README's troubleshooting table says what each reason means.",
        "none",
        [instant_target(sel("ucloud_image_bucket_error_info"), "A", table=True)],
        [
            organize(
                [
                    ("account", "Account"),
                    ("region", "Region"),
                    ("reason", "Reason"),
                    ("instance", "Instance"),
                ],
                ("Time", "__name__", "job", "Value"),
            )
        ],
        sort_by="Account",
    )
    build_info = table(
        "Exporter build info",
        "Version of each exporter instance and the Python it runs on "
        "(ucloud_image_bucket_exporter_build_info).",
        "none",
        [instant_target(sel("ucloud_image_bucket_exporter_build_info"), "A", table=True)],
        [
            organize(
                [
                    ("instance", "Instance"),
                    ("job", "Job"),
                    ("version", "Version"),
                    ("python_version", "Python"),
                ],
                ("Time", "__name__", "Value"),
            )
        ],
        sort_by="Instance",
    )
    return [
        (target_status, 12, 9),
        (failing, 12, 9),
        (
            timeseries(
                "Listing duration per target",
                "How long the last bucket listing of each target took "
                "(ucloud_image_bucket_scrape_duration_seconds), retries included.",
                "s",
                [
                    range_target(
                        sel("ucloud_image_bucket_scrape_duration_seconds"),
                        "{{account}} / {{region}}",
                    )
                ],
            ),
            12,
            9,
        ),
        (
            timeseries(
                "API request rate",
                "UCloud API requests sent per second, by target and API action "
                "(rate of ucloud_image_bucket_api_requests_total).",
                "reqps",
                [
                    range_target(
                        "sum by (account, region, action) (rate("
                        + sel("ucloud_image_bucket_api_requests_total")
                        + "[$__rate_interval]))",
                        "{{account}} / {{region}} {{action}}",
                    )
                ],
            ),
            12,
            9,
        ),
        (
            timeseries(
                "API error rate by reason",
                "Failed UCloud API requests per second by reason "
                "(rate of ucloud_image_bucket_api_errors_total). retcode_170-174 and "
                "retcode_292-299 are authentication / permission errors, retcode_153 and "
                "http_429 throttling; timeout, transport, decode and deadline are "
                "client-side failures.",
                "reqps",
                [
                    range_target(
                        "sum by (reason) (rate("
                        + sel("ucloud_image_bucket_api_errors_total")
                        + "[$__rate_interval]))",
                        "{{reason}}",
                    )
                ],
            ),
            12,
            9,
        ),
        (
            timeseries(
                "Data age per target",
                "Seconds since each target's data was last fetched successfully "
                "(time() - ucloud_image_bucket_last_success_timestamp_seconds). Grows "
                "while a target fails or the exporter serves cached data.",
                "s",
                [
                    range_target(
                        "time() - " + sel("ucloud_image_bucket_last_success_timestamp_seconds"),
                        "{{account}} / {{region}}",
                    )
                ],
            ),
            12,
            9,
        ),
        (
            timeseries(
                "Invalid bucket entries skipped",
                "Bucket entries per second that the exporter skipped because a field "
                "was malformed (rate of ucloud_image_bucket_invalid_entries_total). "
                "Non-zero means the API answered something the exporter does not "
                "understand.",
                "cps",
                [
                    range_target(
                        "sum by (account, region) (rate("
                        + sel("ucloud_image_bucket_invalid_entries_total")
                        + "[$__rate_interval]))",
                        "{{account}} / {{region}}",
                    )
                ],
            ),
            12,
            9,
        ),
        (build_info, 12, 9),
    ]


def layout(sections: Sequence[tuple[str, list[tuple[JSON, int, int]]]]) -> list[JSON]:
    """Place rows and panels on Grafana's 24-column grid and number them."""
    panels: list[JSON] = []
    y = 0
    next_id = 1
    for title, items in sections:
        section_row = row(title)
        section_row["gridPos"] = {"h": 1, "w": 24, "x": 0, "y": y}
        section_row["id"] = next_id
        next_id += 1
        panels.append(section_row)
        y += 1
        x = 0
        line_height = 0
        for panel, width, height in items:
            if x + width > 24:
                x = 0
                y += line_height
                line_height = 0
            panel["gridPos"] = {"h": height, "w": width, "x": x, "y": y}
            panel["id"] = next_id
            next_id += 1
            panels.append(panel)
            x += width
            line_height = max(line_height, height)
        y += line_height
    return panels


def query_variable(name: str, label: str, selector: str, description: str) -> JSON:
    query = f"label_values({selector}, {name})"
    return {
        "allValue": ".+",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "datasource": DATASOURCE,
        "definition": query,
        "description": description,
        "hide": 0,
        "includeAll": True,
        "label": label,
        "multi": True,
        "name": name,
        "options": [],
        "query": query,
        "refresh": 2,
        "regex": "",
        "skipUrlSync": False,
        "sort": 1,
        "type": "query",
    }


def variables() -> list[JSON]:
    target = ", ".join(TARGET_MATCHERS)
    account = ", ".join((*TARGET_MATCHERS, ACCOUNT_MATCHERS[0]))
    region = ", ".join((*TARGET_MATCHERS, *ACCOUNT_MATCHERS))
    return [
        {
            "current": {},
            "description": "The Prometheus server that scrapes the exporter.",
            "hide": 0,
            "includeAll": False,
            "label": "Data source",
            "multi": False,
            "name": "datasource",
            "options": [],
            "query": "prometheus",
            "refresh": 1,
            "regex": "",
            "skipUrlSync": False,
            "type": "datasource",
        },
        query_variable(
            "job",
            "Job",
            "ucloud_image_bucket_exporter_build_info",
            "Prometheus job(s) scraping the exporter.",
        ),
        query_variable(
            "instance",
            "Instance",
            'ucloud_image_bucket_exporter_build_info{job=~"$job"}',
            "Exporter instance(s).",
        ),
        query_variable(
            "account",
            "Account",
            f"ucloud_image_bucket_up{{{target}}}",
            "UCloud account(s) as named in the exporter configuration.",
        ),
        query_variable(
            "region",
            "Region",
            f"ucloud_image_bucket_up{{{account}}}",
            "UCloud region(s).",
        ),
        query_variable(
            "type",
            "Bucket type",
            f"ucloud_image_buckets{{{region}}}",
            "Bucket type: private or public.",
        ),
        {
            "current": {"selected": False, "text": ".*", "value": ".*"},
            "description": "Regular expression on the bucket name, for the per-bucket "
            "panels (images, top / newest / growing buckets). Anchored by Prometheus: "
            "use prod-.* for names starting with prod-.",
            "hide": 0,
            "label": "Bucket (regex)",
            "name": "bucket",
            "options": [{"selected": True, "text": ".*", "value": ".*"}],
            "query": ".*",
            "skipUrlSync": False,
            "type": "textbox",
        },
    ]


def dashboard() -> JSON:
    return {
        "annotations": {
            "list": [
                {
                    "builtIn": 1,
                    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                    "enable": True,
                    "hide": True,
                    "iconColor": "rgba(0, 211, 255, 1)",
                    "name": "Annotations & Alerts",
                    "type": "dashboard",
                }
            ]
        },
        "description": "Image buckets of UCloud accounts (GetImageBucketList) as exposed by "
        "ucloud-image-exporter, and the exporter's own health.",
        "editable": False,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,
        "id": None,
        "links": [
            {
                "asDropdown": False,
                "icon": "external link",
                "includeVars": False,
                "keepTime": False,
                "tags": [],
                "targetBlank": True,
                "title": "ucloud-image-exporter",
                "tooltip": "The exporter's project page",
                "type": "link",
                "url": PROJECT_URL,
            },
            {
                "asDropdown": False,
                "icon": "doc",
                "includeVars": False,
                "keepTime": False,
                "tags": [],
                "targetBlank": True,
                "title": "Dashboard & alerts docs",
                "tooltip": "How this dashboard and the alerts work",
                "type": "link",
                "url": DOCS_URL,
            },
        ],
        "liveNow": False,
        "panels": layout(
            [
                ("Overview", overview()),
                ("Buckets and images", buckets_and_images()),
                ("Exporter health", exporter_health()),
            ]
        ),
        "refresh": "5m",
        "schemaVersion": 39,
        "tags": ["ucloud", "image-buckets", "prometheus", "ucloud-image-exporter"],
        "templating": {"list": variables()},
        "time": {"from": "now-24h", "to": "now"},
        "timepicker": {},
        "timezone": "",
        "title": TITLE,
        "uid": UID,
        "version": 1,
        "weekStart": "",
    }


def render() -> str:
    return json.dumps(dashboard(), indent=2) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--check",
        action="store_true",
        help="do not write; exit 1 if the committed dashboard differs from the generator output",
    )
    parser.add_argument("--output", type=Path, default=OUTPUT, help="dashboard JSON path")
    args = parser.parse_args(argv)
    output: Path = args.output
    text = render()
    if args.check:
        current = output.read_text(encoding="utf-8") if output.exists() else ""
        if current == text:
            return 0
        diff = difflib.unified_diff(
            current.splitlines(keepends=True),
            text.splitlines(keepends=True),
            fromfile=str(output),
            tofile="generated",
            n=1,
        )
        sys.stderr.writelines(list(diff)[:60])
        sys.stderr.write(f"\n{output} is stale: run python grafana/generate.py\n")
        return 1
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
