"""Lint of the Grafana dashboard grafana/dashboards/ucloud-image-buckets.json.

No Grafana server can run here, so the dashboard is checked statically: its
structure, its variables, the data source of every panel and query, the label
filters of every query, the use of rate()/increase(), that every metric it
names is one the exporter really exposes (or a shipped recording rule), how it
scales (no range query over per-bucket series, topk-bounded instant ones), that
totals de-duplicate HA replicas, and -- with promtool -- that every query is
valid PromQL once Grafana's variables are substituted.  The rules of grafana's
dashboard-linter are among them (datasource / job / instance variables, units,
$__rate_interval).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from exporter import metrics
from tests.support import panels
from tests.support.panels import selectors, substitute, variable_selectors
from tests.support.realparts import require_binary

ROOT = Path(__file__).resolve().parent.parent
DASHBOARDS = ROOT / "grafana" / "dashboards"
DASHBOARD = panels.DASHBOARD
GENERATOR = ROOT / "grafana" / "generate.py"
RECORDING = ROOT / "prometheus" / "recording.yml"

UID = "ucloud-image-buckets"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}

# The exporter's metric contract: metric -> its labels (job and instance are
# added by Prometheus).  Used for the label filters every query must carry,
# and as the list of metric names when the golden exposition is missing.
# The exporter's families and their labels, from the metric catalogue.
CONTRACT: dict[str, set[str]] = {family.name: set(family.labels) for family in metrics.CATALOGUE}
# Recording rules (prometheus/recording.yml) the dashboard reads, with their labels.
RECORDED: dict[str, set[str]] = {
    "instance_account_region_type:ucloud_image_bucket_images:sum": {"account", "region", "type"},
    "instance_account_region_reason:ucloud_image_bucket_api_errors:increase5m": {
        "account", "region", "reason"},
    "instance_account_region:ucloud_image_bucket_invalid_entries:increase5m": {
        "account", "region"},
}
# Prometheus's own per-scrape-target metric.
PROMETHEUS = {"up": set[str]()}
LABELS = {**CONTRACT, **RECORDED, **PROMETHEUS}
PER_BUCKET = {family.name for family in metrics.PER_BUCKET}

# Dashboard variable -> the label it filters.
FILTER_VARIABLES = {
    "job": "job",
    "instance": "instance",
    "account": "account",
    "region": "region",
    "type": "type",
    "bucket": "bucket",
}
QUERY_VARIABLES = ("job", "instance", "account", "region", "type")
TOPK_MAX = 20

MATCHER_RE = re.compile(r'(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"')
RANGE_FUNCTION_RE = re.compile(r"(?<![\w:])(rate|irate|increase|delta|idelta|deriv)\s*\(")
RANGE_ARGUMENT_RE = re.compile(
    r"\s*([a-zA-Z_:][\w:]*)\s*(\{[^}]*\})?\s*\[([^\]]+)\](\s*offset\s+\S+)?\s*\)"
)


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
    assert "topk(10, max by (job, account, region, bucket, type) (ucloud_image_bucket_created" in (
        exprs["Newest buckets"]
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
    assert set(renames.values()) >= {"Bucket", "Account", "Region", "Type", "Images", "Created"}


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
# Queries
# --------------------------------------------------------------------------


def all_expressions() -> list[tuple[str, str]]:
    """(where, expression) for every panel query and every variable's selector."""
    found = [(query.where, query.expr) for query in panels.queries()]
    found += [(f"variable {name}", selector) for name, selector in variable_selectors()]
    return found


def test_every_query_filters_on_the_variables() -> None:
    for where, expr in all_expressions():
        found = selectors(expr)
        assert found, f"{where}: no selector with label filters in {expr}"
        for metric, matchers_text in found:
            assert metric in LABELS, f"{where}: unknown metric {metric}"
            matchers = set(MATCHER_RE.findall(matchers_text))
            if metric == "up":
                assert ("job", "=~", "$exporter_jobs") in matchers, where
            if where.startswith("variable "):
                continue
            # dashboard-linter checks the first `job` matcher of a selector only.
            first_job = next(m for m in MATCHER_RE.findall(matchers_text) if m[0] == "job")
            assert first_job == ("job", "=~", "$job"), where
            labels = LABELS[metric] | {"job", "instance"}
            for variable, label in FILTER_VARIABLES.items():
                if label in labels:
                    assert (label, "=~", f"${variable}") in matchers, (
                        f'{where}: {metric} must filter {label}=~"${variable}"'
                    )


def test_variable_queries_chain_on_earlier_variables() -> None:
    found = dict(variable_selectors())
    assert 'job=~"$job"' in found["instance"]
    for name in ("account", "region", "type"):
        assert 'job=~"$job"' in found[name] and 'instance=~"$instance"' in found[name]
    assert 'account=~"$account"' in found["region"]
    assert 'region=~"$region"' in found["type"]


def test_rate_and_increase_only_on_counters_with_grafana_windows() -> None:
    for where, expr in all_expressions():
        for match in RANGE_FUNCTION_RE.finditer(expr):
            function = match.group(1)
            argument = RANGE_ARGUMENT_RE.match(expr, match.end())
            assert argument, f"{where}: {function}() must take a plain range selector: {expr}"
            metric, _, window, _ = argument.groups()
            if function in ("rate", "irate", "increase"):
                assert metric.endswith("_total"), f"{where}: {function}() on gauge {metric}"
                allowed = {"$__rate_interval"} | ({"$__range"} if function == "increase" else set())
                assert window in allowed, f"{where}: {function}({metric}[{window}])"
            else:
                assert not metric.endswith("_total"), f"{where}: {function}() on counter {metric}"


def test_increase_counts_a_counters_first_increment() -> None:
    """Defect 3: increase() of a counter comes with the birth term ``... or counter``."""
    for where, expr in all_expressions():
        for match in re.finditer(r"increase\((\w+_total\{[^}]*\})\[(\$__\w+)\]\)", expr):
            selector, window = match.groups()
            assert f"and {selector} offset {window}) or {selector}" in expr, where


def test_metric_names_exist_in_the_exposition_or_the_rules() -> None:
    # tests/test_catalogue.py holds the catalogue to the live exposition, both ways.
    recorded = {rule["record"] for group in yaml.safe_load(RECORDING.read_text())["groups"]
                for rule in group["rules"]}
    used = {metric for _, expr in all_expressions() for metric, _ in selectors(expr)}
    raw = {metric for metric in used if metric.startswith("ucloud_image_bucket")}
    assert raw, "the dashboard names no exporter metric"
    assert raw <= set(CONTRACT), f"not in the metric catalogue: {sorted(raw - set(CONTRACT))}"
    assert set(RECORDED) <= recorded, sorted(set(RECORDED) - recorded)
    assert used <= set(LABELS), sorted(used - set(LABELS))


# --------------------------------------------------------------------------
# Scale and HA (defects 5 and 6)
# --------------------------------------------------------------------------


def test_range_queries_never_select_per_bucket_series() -> None:
    """At 100k buckets a range query over one series per bucket hits the sample limit."""
    for query in panels.queries():
        if query.instant:
            continue
        per_bucket = {metric for metric, _ in selectors(query.expr)} & PER_BUCKET
        assert not per_bucket, f"{query.where}: range query over {sorted(per_bucket)}"


def test_instant_per_bucket_queries_are_bounded_by_topk() -> None:
    bounded = 0
    for query in panels.queries():
        if not {metric for metric, _ in selectors(query.expr)} & PER_BUCKET:
            continue
        assert query.instant, query.where
        match = re.match(r"(topk|bottomk)\((\d+), ", query.expr)
        assert match and query.expr.endswith(")"), f"{query.where}: not wrapped in topk"
        assert int(match.group(2)) <= TOPK_MAX, query.where
        bounded += 1
    assert bounded >= 3


def dedup_spans(expr: str) -> list[tuple[int, int]]:
    """(start, end) of the argument of every ``max by (job, account, region, ...)``."""
    spans = []
    for match in re.finditer(r"max by \(job, account, region[\w, ]*\) \(", expr):
        depth, end = 1, match.end()
        while depth:
            depth += {"(": 1, ")": -1}.get(expr[end], 0)
            end += 1
        spans.append((match.end(), end))
    return spans


def test_totals_count_each_target_once_across_replicas() -> None:
    """Every sum over exporter series first takes ``max by`` the target's own labels."""
    summed = 0
    for query in panels.queries():
        if not re.search(r"\bsum\b", query.expr):
            continue
        spans = dedup_spans(query.expr)
        for match in panels.SELECTOR_RE.finditer(query.expr):
            if match.group(1) != "up":
                assert any(a <= match.start() < b for a, b in spans), (query.where, match[0])
                summed += 1
    assert summed >= 8


def test_every_expression_parses(tmp_path: Path) -> None:
    promtool = require_binary("promtool")
    rules = []
    for index, (where, expr) in enumerate(all_expressions()):
        concrete = substitute(expr)
        assert "$" not in concrete, f"{where}: unsubstituted variable in {concrete}"
        rules.append({"record": f"dashboard:query_{index}", "expr": concrete})
    rules_file = tmp_path / "dashboard-queries.yml"
    rules_file.write_text(
        yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}), encoding="utf-8"
    )
    result = subprocess.run(
        [promtool, "check", "rules", str(rules_file)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}\n{rules_file.read_text()}"
    assert f"SUCCESS: {len(rules)} rules found" in result.stdout


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ('rate(x_total{job=~"$job"}[$__rate_interval])', 'rate(x_total{job=~".+"}[1m])'),
        ("increase(x_total[${__range}])", "increase(x_total[1h])"),
        ('up{job=~"$exporter_jobs"}', 'up{job=~"ucloud-image-(exporter|probe).*"}'),
        ('y{bucket=~"$bucket"}', 'y{bucket=~".*"}'),
    ],
)
def test_substitute(expr: str, expected: str) -> None:
    assert substitute(expr) == expected


# --------------------------------------------------------------------------
# The generator
# --------------------------------------------------------------------------


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
