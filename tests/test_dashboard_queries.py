"""Lint of the Grafana dashboard's queries (grafana/dashboards/ucloud-image-buckets.json).

The label filters of every query, the use of rate()/increase(), that every metric it names
is in the metric catalogue (exporter.metrics) or a shipped recording rule, how it scales (no
range query over per-bucket series, topk-bounded instant ones), that totals de-duplicate HA
replicas, and -- with promtool -- that every query is valid PromQL once Grafana's variables
are substituted.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from exporter import metrics
from tests.support import panels
from tests.support.panels import selectors, substitute, variable_selectors
from tests.support.realparts import require_binary

ROOT = Path(__file__).resolve().parent.parent
RECORDING = ROOT / "prometheus" / "recording.yml"

# The exporter's families and their labels, from the metric catalogue (the UHub families are
# declared there too, whether or not CATALOGUE lists them yet).
FAMILIES = (*metrics.CATALOGUE, *metrics.UHUB_FAMILIES)
CONTRACT: dict[str, set[str]] = {family.name: set(family.labels) for family in FAMILIES}
# Recording rules (prometheus/recording.yml) the dashboard reads, with their labels.
RECORDED: dict[str, set[str]] = {
    "instance_account_project_region_type:ucloud_image_bucket_images:sum": {
        "account",
        "project",
        "region",
        "type",
    },
    "instance_account_project_region_reason:ucloud_image_bucket_api_errors:increase5m": {
        "account",
        "project",
        "region",
        "reason",
    },
    "instance_account_project_region:ucloud_image_bucket_invalid_entries:increase5m": {
        "account",
        "project",
        "region",
    },
    "instance_account_reason:ucloud_image_bucket_account_api_errors:increase5m": {
        "account",
        "reason",
    },
}
# Account-level families (no project, no region): de-duplicated by (job, account, ...).
ACCOUNT_LEVEL = {
    name
    for name, labels in {**CONTRACT, **RECORDED}.items()
    if "account" in labels and not labels & {"project", "region"}
}
# Prometheus's own per-scrape-target metric.
PROMETHEUS = {"up": set[str]()}
LABELS = {**CONTRACT, **RECORDED, **PROMETHEUS}
# One series per bucket, or per image (UHub's, those inside buckets, custom host images:
# unbounded, unlike UHub's 8 repositories): only topk-bounded instant queries may read them.
PER_BUCKET = {family.name for family in metrics.PER_BUCKET}
PER_IMAGE = {family.name for family in metrics.UHUB_FAMILIES if "image" in family.labels} | {
    family.name for family in metrics.CATALOGUE if family.budget in ("bucket_images", "host_images")
}
PER_OBJECT = PER_BUCKET | PER_IMAGE
# Counters that copy a lifetime count from the API (PullCount) instead of counting from 0: a
# series born within a window holds pulls from before it, so increase() takes no birth term.
API_COUNTERS = {metrics.UHUB_IMAGE_PULLS.name}

# Dashboard variable -> the label it filters.
FILTER_VARIABLES = {
    "job": "job",
    "instance": "instance",
    "account": "account",
    "project": "project",
    "region": "region",
    "type": "type",
    "bucket": "bucket",
}
TOPK_MAX = 20

MATCHER_RE = re.compile(r'(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"')
RANGE_FUNCTION_RE = re.compile(r"(?<![\w:])(rate|irate|increase|delta|idelta|deriv)\s*\(")
RANGE_ARGUMENT_RE = re.compile(
    r"\s*([a-zA-Z_:][\w:]*)\s*(\{[^}]*\})?\s*\[([^\]]+)\](\s*offset\s+\S+)?\s*\)"
)


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
    assert 'account=~"$account"' in found["project"]
    assert 'account=~"$account"' in found["region"] and 'project=~"$project"' in found["region"]
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
    """Defect 3: increase() of a counter comes with the birth term ``... or counter``.

    Not for the counters copied from the API (``API_COUNTERS``): their first value is a
    lifetime count, not increments within the window, so it must not count.
    """
    api_counted = 0
    for where, expr in all_expressions():
        for match in re.finditer(r"increase\((\w+_total)(\{[^}]*\})\[(\$__\w+)\]\)", expr):
            metric, matchers, window = match.groups()
            selector = f"{metric}{matchers}"
            if metric in API_COUNTERS:
                assert f"or {selector}" not in expr, f"{where}: lifetime {metric} counted whole"
                api_counted += 1
                continue
            assert f"and {selector} offset {window}) or {selector}" in expr, where
    assert api_counted, "no panel shows UHub pulls within the range"


def test_metric_names_exist_in_the_exposition_or_the_rules() -> None:
    # tests/test_catalogue.py holds the catalogue to the live exposition, both ways.
    recorded = {
        rule["record"]
        for group in yaml.safe_load(RECORDING.read_text())["groups"]
        for rule in group["rules"]
    }
    used = {metric for _, expr in all_expressions() for metric, _ in selectors(expr)}
    raw = {metric for metric in used if metric.startswith("ucloud_")}
    assert raw, "the dashboard names no exporter metric"
    assert raw <= set(CONTRACT), f"not in the metric catalogue: {sorted(raw - set(CONTRACT))}"
    assert set(RECORDED) <= recorded, sorted(set(RECORDED) - recorded)
    assert used <= set(LABELS), sorted(used - set(LABELS))


# --------------------------------------------------------------------------
# Scale and HA (defects 5 and 6)
# --------------------------------------------------------------------------


def test_range_queries_never_select_per_bucket_series() -> None:
    """At 100k buckets a range query over one series per bucket hits the sample limit; the
    same holds for one series per UHub image."""
    for query in panels.queries():
        if query.instant:
            continue
        per_object = {metric for metric, _ in selectors(query.expr)} & PER_OBJECT
        assert not per_object, f"{query.where}: range query over {sorted(per_object)}"


def test_instant_per_bucket_queries_are_bounded_by_topk() -> None:
    bounded = 0
    for query in panels.queries():
        if not {metric for metric, _ in selectors(query.expr)} & PER_OBJECT:
            continue
        assert query.instant, query.where
        match = re.match(r"(topk|bottomk)\((\d+), ", query.expr)
        assert match and query.expr.endswith(")"), f"{query.where}: not wrapped in topk"
        assert int(match.group(2)) <= TOPK_MAX, query.where
        bounded += 1
    assert bounded >= 10  # 5 per-bucket queries, 5 per-image ones


def dedup_spans(expr: str, keys: str = "job, account, project, region") -> list[tuple[int, int]]:
    """(start, end) of the argument of every ``max by (<keys>, ...)``."""
    spans = []
    for match in re.finditer(rf"max by \({keys}[\w, ]*\) \(", expr):
        depth, end = 1, match.end()
        while depth:
            depth += {"(": 1, ")": -1}.get(expr[end], 0)
            end += 1
        spans.append((match.end(), end))
    return spans


def test_totals_count_each_target_once_across_replicas() -> None:
    """Every sum over exporter series first takes ``max by`` the target's own labels (the
    account's, for account-level series)."""
    summed = 0
    for query in panels.queries():
        if not re.search(r"\bsum\b", query.expr):
            continue
        for match in panels.SELECTOR_RE.finditer(query.expr):
            metric = match.group(1)
            if metric != "up":
                keys = (
                    "job, account" if metric in ACCOUNT_LEVEL else "job, account, project, region"
                )
                spans = dedup_spans(query.expr, keys)
                assert any(a <= match.start() < b for a, b in spans), (query.where, match[0])
                summed += 1
    assert summed >= 8


def test_uhub_panels_count_each_object_once_across_replicas() -> None:
    """UHub series are per (account, project) (no region): every UHub selector sits in a
    ``max by (job, account, project, ...)``, but in the per-instance refresh status (like
    *Target status*)."""
    uhub = {family.name for family in metrics.UHUB_FAMILIES}
    checked = 0
    for query in panels.queries():
        spans = dedup_spans(query.expr, "job, account, project")
        for match in panels.SELECTOR_RE.finditer(query.expr):
            if match.group(1) not in uhub or query.panel == "UHub refresh status":
                continue
            assert any(a <= match.start() < b for a, b in spans), (query.where, match[0])
            checked += 1
    assert checked >= 8


@pytest.mark.e2e
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


def test_image_rows_count_each_object_once_across_replicas() -> None:
    """The families of images inside buckets (per account x project, per image) and of custom
    host images (per target, per image): every selector sits in a ``max by (job, account,
    project, ...)``, but in the per-instance refresh status panels (like *Target status*)."""
    families = {f.name for f in (*metrics.DOCKER_FAMILIES, *metrics.HOST_FAMILIES)}
    status = {"Images-inside-buckets refresh status", "Custom host image refresh status"}
    checked = 0
    for query in panels.queries():
        spans = dedup_spans(query.expr, "job, account, project")
        for match in panels.SELECTOR_RE.finditer(query.expr):
            if match.group(1) not in families or query.panel in status:
                continue
            assert any(a <= match.start() < b for a, b in spans), (query.where, match[0])
            checked += 1
    assert checked >= 20


def test_per_image_families_of_the_new_sources_are_per_object() -> None:
    """Every per-image family of images inside buckets and custom host images is linted as
    per-object (topk-bounded instant queries only), and the dashboard reads each of them."""
    per_image = {
        f.name
        for f in (*metrics.DOCKER_FAMILIES, *metrics.HOST_FAMILIES)
        if {"image", "image_id"} & set(f.labels)
    }
    assert len(per_image) == 8
    assert per_image <= PER_OBJECT
    used = {metric for _, expr in all_expressions() for metric, _ in selectors(expr)}
    assert per_image <= used, sorted(per_image - used)
