"""Lint of the Grafana dashboard grafana/dashboards/ucloud-image-buckets.json.

No Grafana server can run here, so the dashboard is checked statically: its
structure, its variables, the data source of every panel and query, the label
filters of every query, the use of rate()/increase(), that every metric it
names is one the exporter really exposes, and -- with promtool -- that every
query is valid PromQL once Grafana's variables are substituted.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.realparts import require_binary

ROOT = Path(__file__).resolve().parent.parent
DASHBOARDS = ROOT / "grafana" / "dashboards"
DASHBOARD = DASHBOARDS / "ucloud-image-buckets.json"
GENERATOR = ROOT / "grafana" / "generate.py"
GOLDEN = ROOT / "tests" / "golden" / "exposition.prom"

UID = "ucloud-image-buckets"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}

# The exporter's metric contract: metric -> its labels (job and instance are
# added by Prometheus).  Used for the label filters every query must carry,
# and as the list of metric names when the golden exposition is missing.
CONTRACT: dict[str, set[str]] = {
    "ucloud_image_buckets": {"account", "region", "type"},
    "ucloud_image_bucket_images": {"account", "region", "bucket", "type"},
    "ucloud_image_bucket_created_timestamp_seconds": {"account", "region", "bucket", "type"},
    "ucloud_image_bucket_up": {"account", "region"},
    # Not in the original contract table, but exposed (see the golden file):
    # 1 while a target fails, with the reason.
    "ucloud_image_bucket_error_info": {"account", "region", "reason"},
    "ucloud_image_bucket_scrape_duration_seconds": {"account", "region"},
    "ucloud_image_bucket_last_success_timestamp_seconds": {"account", "region"},
    "ucloud_image_bucket_api_requests_total": {"account", "region", "action"},
    "ucloud_image_bucket_api_errors_total": {"account", "region", "action", "reason"},
    "ucloud_image_bucket_invalid_entries_total": {"account", "region"},
    "ucloud_image_bucket_exporter_build_info": {"version", "python_version"},
}

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

# What Grafana would put in place of the variables, for promtool.
SUBSTITUTIONS = {
    "__rate_interval": "1m",
    "__range": "1h",
    "__interval": "1m",
    "job": ".+",
    "instance": ".+",
    "account": ".+",
    "region": ".+",
    "type": ".+",
    "bucket": ".*",
}

METRIC_RE = re.compile(r"(?<![\w:])(ucloud_image_bucket\w*)(?![\w:])(\s*\{([^}]*)\})?")
MATCHER_RE = re.compile(r'(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"')
RANGE_FUNCTION_RE = re.compile(r"(?<![\w:])(rate|irate|increase|delta|idelta|deriv)\s*\(")
RANGE_ARGUMENT_RE = re.compile(
    r"\s*([a-zA-Z_:][\w:]*)\s*(\{[^}]*\})?\s*\[([^\]]+)\](\s*offset\s+\S+)?\s*\)"
)
LABEL_VALUES_RE = re.compile(r"^label_values\((.+),\s*(\w+)\)$")


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def load_dashboard() -> dict[str, Any]:
    data = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def all_panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every panel, including those nested in (collapsed) rows."""
    for panel in panels:
        yield panel
        yield from all_panels(panel.get("panels") or [])


def visual_panels() -> list[dict[str, Any]]:
    return [p for p in all_panels(load_dashboard()["panels"]) if p["type"] != "row"]


def targets() -> list[tuple[str, dict[str, Any]]]:
    """(panel title / refId, target) for every query of every panel."""
    return [
        (f"{panel['title']} / {target.get('refId')}", target)
        for panel in visual_panels()
        for target in panel.get("targets") or []
    ]


def variables() -> dict[str, dict[str, Any]]:
    return {v["name"]: v for v in load_dashboard()["templating"]["list"]}


def variable_selectors() -> list[tuple[str, str]]:
    """(variable name, the selector inside its label_values(...)) for query variables."""
    found = []
    for name, var in variables().items():
        if var["type"] != "query":
            continue
        query = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
        match = LABEL_VALUES_RE.match(query)
        assert match, f"variable {name}: expected label_values(<selector>, <label>), got {query}"
        assert match.group(2) == name, f"variable {name} lists label {match.group(2)}"
        found.append((name, match.group(1)))
    return found


def substitute(expr: str) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        assert name in SUBSTITUTIONS, f"unknown variable ${name} in {expr}"
        return SUBSTITUTIONS[name]

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", replace, expr)


def exposition_names() -> set[str]:
    """Metric names the exporter really exposes, from the golden exposition."""
    if not GOLDEN.exists():
        # TODO(golden): tests/golden/exposition.prom is written by the exporter's
        # tests; until it exists, trust the contract table.
        return set(CONTRACT)
    names: set[str] = set()
    for line in GOLDEN.read_text(encoding="utf-8").splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(maxsplit=3)
            names.add(name)
            if kind == "counter" and not name.endswith("_total"):
                names.add(f"{name}_total")
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{\s]", line, maxsplit=1)[0])
    # The golden test leaves out the families whose values change from run to
    # run (durations, wall-clock timestamps).  Accept those only if the golden
    # test says it drops them and the exporter's code does declare them.
    unstable = _golden_unstable()
    if unstable is not None:
        source = "\n".join(
            path.read_text(encoding="utf-8") for path in (ROOT / "exporter").rglob("*.py")
        )
        names |= {name for name in CONTRACT if unstable.match(name) and f'"{name}"' in source}
    return names


def _golden_unstable() -> re.Pattern[str] | None:
    try:
        from tests import test_golden
    except ImportError:
        return None
    pattern = getattr(test_golden, "UNSTABLE", None)
    return pattern if isinstance(pattern, re.Pattern) else None


# --------------------------------------------------------------------------
# Structure
# --------------------------------------------------------------------------


def test_dashboard_is_valid_json_with_stable_identity() -> None:
    dashboard = load_dashboard()
    assert dashboard["uid"] == UID
    assert dashboard["id"] is None
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
    panels = list(all_panels(load_dashboard()["panels"]))
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), ids
    taken: dict[tuple[int, int], str] = {}
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["w"] > 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in taken, f"{panel['title']} overlaps {taken[(x, y)]}"
                taken[(x, y)] = panel["title"]


def test_every_panel_has_title_description_unit_and_datasource() -> None:
    panels = visual_panels()
    assert len(panels) >= 10
    for panel in panels:
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
    rows = [p for p in all_panels(load_dashboard()["panels"]) if p["type"] == "row"]
    assert rows
    assert all(row.get("title") for row in rows)


def test_required_panels_exist() -> None:
    by_type: dict[str, list[str]] = {}
    for panel in visual_panels():
        by_type.setdefault(panel["type"], []).append(panel["title"])
    exprs = {p["title"]: " ".join(t["expr"] for t in p["targets"]) for p in visual_panels()}
    assert {"Buckets", "Images", "Targets up", "Targets down"} <= set(by_type["stat"])
    assert {"Buckets by region and type", "Images by region"} <= set(by_type["timeseries"])
    assert {"Top buckets by image count", "Newest buckets"} <= set(by_type["table"])
    assert "offset $__range" in exprs["Biggest image-count growth in range"]
    assert "topk(10, ucloud_image_bucket_created_timestamp_seconds" in exprs["Newest buckets"]
    health = " ".join(exprs.values())
    for metric in (
        "ucloud_image_bucket_up",
        "ucloud_image_bucket_scrape_duration_seconds",
        "ucloud_image_bucket_api_requests_total",
        "ucloud_image_bucket_api_errors_total",
    ):
        assert metric in health, metric
    assert "sum by (reason)" in exprs["API error rate by reason"]


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
    selectors = dict(variable_selectors())
    assert set(selectors) == set(QUERY_VARIABLES)


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
    found = [(where, target["expr"]) for where, target in targets()]
    found += [(f"variable {name}", selector) for name, selector in variable_selectors()]
    return found


def test_every_query_filters_on_the_variables() -> None:
    for where, target in targets():
        expr = target["expr"]
        selectors = METRIC_RE.findall(expr)
        assert selectors, f"{where}: no ucloud_image_bucket* metric in {expr}"
        for metric, braces, matchers_text in selectors:
            assert braces, f"{where}: {metric} without label filters"
            matchers = {
                (label, op, value) for label, op, value in MATCHER_RE.findall(matchers_text)
            }
            labels = CONTRACT[metric] | {"job", "instance"}
            for variable, label in FILTER_VARIABLES.items():
                if label in labels:
                    assert (label, "=~", f"${variable}") in matchers, (
                        f'{where}: {metric} must filter {label}=~"${variable}"'
                    )


def test_variable_queries_chain_on_earlier_variables() -> None:
    selectors = dict(variable_selectors())
    assert '{job=~"$job"}' in selectors["instance"]
    for name in ("account", "region", "type"):
        assert 'job=~"$job"' in selectors[name] and 'instance=~"$instance"' in selectors[name]
    assert 'account=~"$account"' in selectors["region"]
    assert 'region=~"$region"' in selectors["type"]


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


def test_metric_names_exist_in_the_exposition() -> None:
    exposed = exposition_names()
    assert "ucloud_image_bucket_up" in exposed
    used = {metric for _, expr in all_expressions() for metric, _, _ in METRIC_RE.findall(expr)}
    assert used, "the dashboard names no exporter metric"
    assert used <= exposed, f"not exposed by the exporter: {sorted(used - exposed)}"
    assert used <= set(CONTRACT), f"not in the metric contract: {sorted(used - set(CONTRACT))}"


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
