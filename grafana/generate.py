#!/usr/bin/env python3
"""Generate the Grafana dashboard ``grafana/dashboards/ucloud-image-buckets.json``.

The dashboard JSON is committed, but it is *written by this script* with
grafana-foundation-sdk, Grafana's typed builder (a development dependency: the
``test`` extra).  Edit the panels here and the queries in ``queries.py``, then::

    python grafana/generate.py           # rewrite the JSON
    python grafana/generate.py --check   # exit 1 if the committed JSON is stale

The rows are in ``rows.py``, ``health.py``, ``images.py`` and ``uhub.py``, the variables
in ``variables.py``; every panel is built by the same few helpers (``panels.py``), so every
panel and query uses the ``${datasource}`` variable and every panel has a description and a
unit.

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

from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import dashboard as model
from health import exporter_health
from images import custom_host_images, images_inside_buckets
from rows import buckets_and_images, overview
from uhub import uhub_registry
from variables import variables

UID = "ucloud-image-buckets"
TITLE = "UCloud image buckets"
OUTPUT = Path(__file__).resolve().parent / "dashboards" / f"{UID}.json"
PROJECT_URL = "https://github.com/ucloud-image-exporter/ucloud-image-exporter"
DOCS_URL = f"{PROJECT_URL}/blob/main/docs/dashboards-and-alerts.md"


def dashboard() -> model.Dashboard:
    board = (
        dash.Dashboard(TITLE)
        .uid(UID)
        .readonly()
        .description(
            "Image buckets of UCloud accounts (GetImageBucketList) as exposed by "
            "ucloud-image-exporter, the exporter's own health, and (collapsed, for accounts "
            "with docker_images, host_images or uhub: true) the images inside their buckets, "
            "their custom host images and their UHub container registry."
        )
        .tags(["ucloud", "image-buckets", "uhub", "prometheus", "ucloud-image-exporter"])
        .tooltip(model.DashboardCursorSync.CROSSHAIR)
        .refresh("5m")
        .time("now-24h", "now")
        .timezone("")
        .version(1)
        .annotation(
            dash.AnnotationQuery()
            .name("Annotations & Alerts")
            .built_in(1)
            .datasource(model.DataSourceRef(type_val="grafana", uid="-- Grafana --"))
            .enable(True)
            .hide(True)
            .icon_color("rgba(0, 211, 255, 1)")
            .type("dashboard")
        )
        .link(
            dash.DashboardLink("ucloud-image-exporter")
            .type(model.DashboardLinkType.LINK)
            .icon("external link")
            .tooltip("The exporter's project page")
            .url(PROJECT_URL)
            .target_blank(True)
        )
        .link(
            dash.DashboardLink("Dashboard & alerts docs")
            .type(model.DashboardLinkType.LINK)
            .icon("doc")
            .tooltip("How this dashboard and the alerts work")
            .url(DOCS_URL)
            .target_blank(True)
        )
        .variables(variables())
    )
    next_id = 1
    for title, items in (
        ("Overview", overview()),
        ("Buckets and images", buckets_and_images()),
        ("Exporter health", exporter_health()),
    ):
        board = board.with_row(dash.Row(title).id(next_id))
        next_id += 1
        for panel, width, height in items:
            board = board.with_panel(panel.id(next_id).span(width).height(height))
            next_id += 1
    # Collapsed (their panels nested in them) and last: the images inside buckets, custom
    # host images and UHub are opt-in (accounts with docker_images: true, host_images: true,
    # uhub: true); UHub's row comes last.
    for title, items in (
        ("Images inside buckets", images_inside_buckets()),
        ("Custom host images", custom_host_images()),
        ("UHub registry", uhub_registry()),
    ):
        row = dash.Row(title).id(next_id).collapsed(True)
        next_id += 1
        for panel, width, height in items:
            row = row.with_panel(panel.id(next_id).span(width).height(height))
            next_id += 1
        board = board.with_row(row)
    return board.build()


def render() -> str:
    return json.dumps(dashboard(), cls=JSONEncoder, indent=2, sort_keys=True) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--check",
        action="store_true",
        help="do not write; exit 1 if the committed dashboard is stale",
    )
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


if __name__ == "__main__":
    sys.exit(main())
