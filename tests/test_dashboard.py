"""Lint of the Grafana dashboard grafana/dashboards/ucloud-image-buckets.json: structure.

No Grafana server can run here, so the dashboard is checked statically: its structure, its
variables, the data source of every panel, and that the committed file is what
grafana/generate.py builds. Its queries are checked in tests/test_dashboard_queries.py. The
rules of grafana's dashboard-linter are among them (datasource / job / instance variables,
units, $__rate_interval).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from exporter import metrics
from tests.support import panels
from tests.support.panels import variable_selectors

ROOT = Path(__file__).resolve().parent.parent
DASHBOARDS = ROOT / "grafana" / "dashboards"
DASHBOARD = panels.DASHBOARD
GENERATOR = ROOT / "grafana" / "generate.py"

UID = "ucloud-image-buckets"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}

QUERY_VARIABLES = ("job", "instance", "account", "project", "region", "type")


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def load_dashboard() -> dict[str, Any]:
    return panels.load()


def visual_panels() -> list[dict[str, Any]]:
    return panels.visual_panels()


def variables() -> dict[str, dict[str, Any]]:
    return panels.variables()


def panel_exprs() -> dict[str, str]:
    """Panel title -> all its queries, joined."""
    exprs: dict[str, str] = {}
    for query in panels.queries():
        exprs[query.panel] = f"{exprs.get(query.panel, '')} {query.expr}".strip()
    return exprs


# --------------------------------------------------------------------------
# Structure
# --------------------------------------------------------------------------


def test_dashboard_is_valid_json_with_stable_identity() -> None:
    dashboard = load_dashboard()
    assert dashboard["uid"] == UID
    assert dashboard.get("id") is None  # Grafana assigns it on import
    assert dashboard["editable"] is False
    assert isinstance(dashboard["schemaVersion"], int)
    assert dashboard["schemaVersion"] >= 36
    assert dashboard["title"]
    assert dashboard["tags"]
    assert dashboard["links"]
    assert all(link.get("url") or link.get("type") == "dashboards" for link in dashboard["links"])


def test_uids_unique_across_dashboards() -> None:
    uids = [json.loads(p.read_text(encoding="utf-8"))["uid"] for p in DASHBOARDS.glob("*.json")]
    assert len(uids) == len(set(uids)), uids
    assert all(len(uid) <= 40 and re.fullmatch(r"[\w-]+", uid) for uid in uids), uids


def test_panel_ids_unique_and_grid_does_not_overlap() -> None:
    every = list(panels.all_panels(load_dashboard()["panels"]))
    ids = [p["id"] for p in every]
    assert len(ids) == len(set(ids)), ids
    taken: dict[tuple[int, int], str] = {}
    for panel in every:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["w"] > 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in taken, f"{panel['title']} overlaps {taken[(x, y)]}"
                taken[(x, y)] = panel["title"]


def test_every_panel_has_title_description_unit_and_datasource() -> None:
    visual = visual_panels()
    assert len(visual) >= 10
    for panel in visual:
        title = panel.get("title")
        assert title, panel
        assert panel.get("description"), title
        assert panel["fieldConfig"]["defaults"].get("unit"), title
        assert panel.get("datasource") == DATASOURCE, title
        assert panel.get("targets"), title
        for target in panel["targets"]:
            assert target.get("datasource") == DATASOURCE, f"{title} / {target.get('refId')}"
            assert target.get("expr"), f"{title} / {target.get('refId')}"
        ref_ids = [t["refId"] for t in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids)), title


def test_rows_have_titles() -> None:
    rows = [p for p in panels.all_panels(load_dashboard()["panels"]) if p["type"] == "row"]
    assert rows
    assert all(row.get("title") for row in rows)


def test_required_panels_exist() -> None:
    by_type: dict[str, list[str]] = {}
    for panel in visual_panels():
        by_type.setdefault(panel["type"], []).append(panel["title"])
    exprs = panel_exprs()
    assert {"Buckets", "Images", "Targets up", "Targets down", "Exporter scrapes down"} <= set(
        by_type["stat"]
    )
    assert {"Exporter scrapes", "Target status"} <= set(by_type["state-timeline"])
    assert {"Buckets by region and type", "Images by region"} <= set(by_type["timeseries"])
    assert {"Top buckets by image count", "Newest buckets"} <= set(by_type["table"])
    assert "offset $__range" in exprs["Biggest image-count growth in range"]
    assert (
        "topk(10, max by (job, account, project, region, bucket, type) (ucloud_image_bucket_created"
        in (exprs["Newest buckets"])
    )
    health = " ".join(exprs.values())
    for metric in (
        "ucloud_image_bucket_up",
        "ucloud_image_bucket_scrape_duration_seconds",
        "ucloud_image_bucket_api_requests_total",
        "ucloud_image_bucket_api_errors_total",
    ):
        assert metric in health, metric
    assert "sum by (reason)" in exprs["API errors by reason (per 5 min)"]


def field_defaults(title: str) -> dict[str, Any]:
    panel = next(p for p in visual_panels() if p["title"] == title)
    defaults: dict[str, Any] = panel["fieldConfig"]["defaults"]
    return defaults


def threshold_steps(title: str) -> list[tuple[str, float | None]]:
    steps = field_defaults(title)["thresholds"]["steps"]
    return [(step["color"], step["value"]) for step in steps]


def test_uhub_row_is_collapsed_last_and_complete() -> None:
    """UHub is opt-in: its row comes last, collapsed, with its panels nested in it."""
    *_, last = load_dashboard()["panels"]
    assert last["type"] == "row" and last["title"] == "UHub registry"
    assert last["collapsed"] is True
    titles = {panel["title"] for panel in last["panels"]}
    assert titles == {
        "UHub repositories per project",
        "UHub refresh status",
        "UHub data age",
        f"UHub tags per image (limit {metrics.UHUB_MAX_TAGS})",
        "UHub images not updated for 90 days",
        "Most pulled UHub images",
        "UHub repositories",
    }
    exprs = panel_exprs()
    uhub = " ".join(exprs[title] for title in titles)
    for family in metrics.UHUB_FAMILIES:
        if family not in (metrics.UHUB_DURATION, metrics.UHUB_ERROR_INFO):
            assert family.name in uhub, family.name
    assert exprs["UHub refresh status"].startswith(f"{metrics.UHUB_UP.name}{{")
    assert (
        f"time() - (max by (job, account, project) ({metrics.UHUB_LAST_SUCCESS.name}{{"
        in (exprs["UHub data age"])
    )
    assert field_defaults("UHub data age")["unit"] == "s"
    stale = exprs["UHub images not updated for 90 days"]
    assert (
        f"(time() - max by (job, account, project, repo, image) ({metrics.UHUB_IMAGE_UPDATED.name}"
        in (stale)
    )
    assert "/ 86400 > 90" in stale
    pulls = exprs["Most pulled UHub images"]
    assert pulls.startswith(
        f"topk(10, max by (job, account, project, repo, image) ({metrics.UHUB_IMAGE_PULLS.name}{{"
    )
    assert f"increase({metrics.UHUB_IMAGE_PULLS.name}{{" in pulls and "[$__range]" in pulls


IMAGE_ROWS = {
    "Images inside buckets": {
        "Images-inside-buckets refresh status",
        "Images-inside-buckets data age",
        "Buckets with images held",
        "Images with the most tags",
        "Images with the oldest tags",
    },
    "Custom host images": {
        "Custom host image refresh status",
        "Custom host image data age",
        "Custom images vs quota",
        "Custom host images by region and state",
        "Largest custom host images",
        "OS end of life",
    },
}


def test_image_rows_are_collapsed_before_uhub_and_complete() -> None:
    """Images inside buckets and custom host images are opt-in: collapsed rows, just before
    UHub's, their panels nested, every family of theirs read (but duration and error_info)."""
    rows = [p for p in load_dashboard()["panels"] if p["type"] == "row"]
    assert [r["title"] for r in rows[-3:]] == [*IMAGE_ROWS, "UHub registry"]
    exprs = panel_exprs()
    for row in rows[-3:-1]:
        assert row["collapsed"] is True
        assert {p["title"] for p in row["panels"]} == IMAGE_ROWS[row["title"]]
    docker = " ".join(exprs[t] for t in IMAGE_ROWS["Images inside buckets"])
    for family in metrics.DOCKER_FAMILIES:
        if family not in (metrics.DOCKER_DURATION, metrics.DOCKER_ERROR_INFO):
            assert family.name in docker, family.name
    host = " ".join(exprs[t] for t in IMAGE_ROWS["Custom host images"])
    for family in metrics.HOST_FAMILIES:
        if family not in (metrics.HOST_DURATION, metrics.HOST_ERROR_INFO):
            assert family.name in host, family.name
    assert exprs["Images-inside-buckets refresh status"].startswith(f"{metrics.DOCKER_UP.name}{{")
    assert exprs["Custom host image refresh status"].startswith(f"{metrics.HOST_UP.name}{{")
    for title in ("Images-inside-buckets data age", "Custom host image data age"):
        assert field_defaults(title)["unit"] == "s"
    assert metrics.SERIES_DROPPED.name in exprs["Series left out of the scrape"]


def test_quota_and_end_of_life_thresholds_are_the_alerts() -> None:
    """Orange from 90 % of a region's quota, red at it; the EOL table red within 30 days,
    soonest first."""
    quota = "Custom images vs quota"
    assert field_defaults(quota)["max"] == 1 and field_defaults(quota)["unit"] == "percentunit"
    assert threshold_steps(quota) == [("green", None), ("orange", 0.9), ("red", 1)]
    used = panel_exprs()[quota]
    assert f"/ max by (job, account, project, region) ({metrics.HOST_QUOTA.name}{{" in used
    eol = next(p for p in visual_panels() if p["title"] == "OS end of life")
    assert eol["options"]["sortBy"] == [{"displayName": "Days to end of life", "desc": False}]
    overrides = eol["fieldConfig"]["overrides"]
    days = next(o for o in overrides if o["matcher"]["options"] == "Days to end of life")
    steps = {p["id"]: p["value"] for p in days["properties"]}["thresholds"]["steps"]
    assert [(s["color"], s["value"]) for s in steps] == [("red", None), ("green", 30)]
    assert eol["targets"][0]["expr"].startswith("bottomk(20, ")


def test_uhub_limits_are_drawn() -> None:
    """800 tags per image (orange from 700, the alert's threshold), 8 repositories per project."""
    tags = f"UHub tags per image (limit {metrics.UHUB_MAX_TAGS})"
    assert metrics.UHUB_MAX_TAGS == 800 and metrics.UHUB_MAX_REPOS == 8
    assert field_defaults(tags)["max"] == 800 and field_defaults(tags)["min"] == 0
    assert threshold_steps(tags) == [("green", None), ("orange", 700), ("red", 800)]
    repos = "UHub repositories per project"
    assert field_defaults(repos)["max"] == 8
    assert threshold_steps(repos) == [("green", None), ("red", 8)]
    for title in (tags, repos):
        panel = next(p for p in visual_panels() if p["title"] == title)
        assert panel["type"] == "bargauge" and panel["targets"][0]["instant"] is True, title


def test_the_exporter_scrape_itself_is_on_the_dashboard() -> None:
    """Defect 1: a dead exporter must show as down, from Prometheus's own ``up``."""
    exprs = panel_exprs()
    assert exprs["Exporter scrapes down"].startswith("sum(1 - up{")
    assert exprs["Exporter scrapes"].startswith("up{")
    down = next(p for p in visual_panels() if p["title"] == "Exporter scrapes down")
    steps = down["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert [s["color"] for s in steps] == ["green", "red"] and steps[1]["value"] == 1
    assert down["fieldConfig"]["defaults"]["noValue"] != "0"


def test_no_query_turns_missing_data_into_a_healthy_zero() -> None:
    for query in panels.queries():
        assert not re.search(r"\bor\s+vector\s*\(", query.expr), query.where


def test_table_panels_use_instant_queries_and_show_dates() -> None:
    for panel in visual_panels():
        if panel["type"] != "table":
            continue
        for target in panel["targets"]:
            assert target.get("instant") is True, panel["title"]
            assert target.get("format") == "table", panel["title"]
        if len(panel["targets"]) > 1:
            assert panel["transformations"][0]["id"] == "merge", panel["title"]
    top = next(p for p in visual_panels() if p["title"] == "Top buckets by image count")
    created = next(t for t in top["targets"] if "created_timestamp" in t["expr"])
    assert "* 1000" in created["expr"]
    overrides = {
        o["matcher"]["options"]: {prop["id"]: prop["value"] for prop in o["properties"]}
        for o in top["fieldConfig"]["overrides"]
    }
    assert overrides["Created"]["unit"] == "dateTimeAsIso"
    renames = top["transformations"][1]["options"]["renameByName"]
    assert set(renames.values()) >= {
        "Bucket",
        "Account",
        "Project",
        "Region",
        "Type",
        "Images",
        "Created",
    }


# --------------------------------------------------------------------------
# Variables
# --------------------------------------------------------------------------


def test_datasource_variable() -> None:
    var = variables()["datasource"]
    assert var["type"] == "datasource"
    assert var["query"] == "prometheus"


def test_query_variables() -> None:
    variables_ = variables()
    for name in QUERY_VARIABLES:
        var = variables_[name]
        assert var["type"] == "query", name
        assert var["datasource"] == DATASOURCE, name
        assert var["multi"] is True, name
        assert var["includeAll"] is True, name
        assert var["allValue"] == ".+", name
    found = dict(variable_selectors())
    assert set(found) == set(QUERY_VARIABLES)
    assert variables_["exporter_jobs"]["type"] == "constant"
    assert re.fullmatch(variables_["exporter_jobs"]["query"], "ucloud-image-probe")


def test_variables_come_from_series_that_probe_mode_has() -> None:
    """Defect 4: /probe exposes no build_info; job and instance come from ``up``."""
    found = dict(variable_selectors())
    for name, selector in found.items():
        assert "build_info" not in selector, name
    assert found["job"].startswith("up{") and found["instance"].startswith("up{")


def test_bucket_filter_variable() -> None:
    var = variables()["bucket"]
    if var["type"] == "textbox":
        assert var["query"] == ".*"
    else:
        assert var["type"] == "query"
        assert var["includeAll"] is True
        assert var["allValue"] == ".+"


# --------------------------------------------------------------------------
# The generator
# --------------------------------------------------------------------------


@pytest.mark.e2e
def test_committed_dashboard_matches_generator() -> None:
    result = subprocess.run(
        [sys.executable, str(GENERATOR), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, (
        f"grafana/dashboards is stale: run python grafana/generate.py\n{result.stderr}"
    )


@pytest.mark.e2e
def test_generator_detects_a_stale_file(tmp_path: Path) -> None:
    stale = tmp_path / "dashboard.json"
    stale.write_text("{}\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(GENERATOR), "--check", "--output", str(stale)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "stale" in result.stderr
