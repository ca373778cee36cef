"""grafana/dashboard-linter's rules that can be checked here, against the committed
dashboard, honouring the exclusions of grafana/dashboards/.lint (the linter's own file).

No dashboard-linter binary (a Go program) is available, so its rules are re-implemented on
the dashboard's JSON and a small scan of each PromQL expression (no PromQL parser either):

- target-counter-agg-rule: every counter (a metric named ``*_total``) is read as
  ``rate``/``irate``/``increase`` of a range. Stricter than upstream, whose check looks at
  the selector as printed and so passes every counter that has label matchers, as all of
  ours do; this one goes by the metric name.
- target-rate-interval-rule: ``rate`` and ``irate`` take ``$__rate_interval``.
- target-job-rule, target-instance-rule: every selector has a ``job`` and an ``instance``
  matcher on the variables.
- template-datasource-rule, template-job-rule, template-instance-rule: the variables exist,
  the job and instance ones on the templated data source, multi-valued with "All".
- panel-datasource-rule, panel-title-description-rule: every panel with queries uses the
  templated data source and has a title and a description.

Not checked here: target-promql-rule (valid PromQL: tests/test_dashboard_queries.py's
promtool check, e2e), panel-units-rule's list of valid units (a unit is required by
tests/test_dashboard.py), template-label-promql-rule, template-on-time-change-reload-rule,
template-required-variables-rule, target-required-matchers-rule (configured per project),
panel-legend, element-reference and the dashboard time and refresh rules, and the LogQL
rules (no Loki queries).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from tests.support.panels import DASHBOARD, all_panels, load, selectors

LINT = DASHBOARD.parent / ".lint"
RATE_INTERVAL = "$__rate_interval"
# A metric selector: name, optional {matchers}, optional [range]; strings are blanked first.
METRIC = re.compile(r"(?<![\w:$])([a-zA-Z_:][\w:]*)\s*(\{[^}]*\})?\s*(\[[^\]]*\])?")
STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or"}
KEYWORDS |= {"unless", "bool", "offset"}


@dataclass(frozen=True)
class Violation:
    """One rule broken by one target of one panel (the .lint entry's keys)."""

    rule: str
    dashboard: str
    panel: str
    target: int
    message: str


def counters_not_rated(expr: str) -> list[str]:
    """Return the counters (``*_total``) of ``expr`` not read as rate/irate/increase(x[...])."""
    blank = STRING.sub(lambda m: '"' + " " * (len(m.group()) - 2) + '"', expr)
    bad = []
    for match in METRIC.finditer(blank):
        name, _, window = match.groups()
        before = blank[: match.start()].rstrip()
        after = blank[match.end() :].lstrip()
        if not name.endswith("_total") or before.endswith(("by (", "by(")):
            continue
        call = re.search(r"(\w+)\s*\(\s*$", before)
        rated = call is not None and call.group(1) in ("rate", "irate", "increase")
        if not (rated and window and after.startswith(")")):
            bad.append(name)
    return bad


def rates_without_rate_interval(expr: str) -> list[str]:
    """Return the windows of rate()/irate() in ``expr`` other than $__rate_interval."""
    return [
        window
        for window in re.findall(
            r"\birate\s*\([^\[]*\[([^\]]*)\]|\brate\s*\([^\[]*\[([^\]]*)\]", expr
        )
        for window in window
        if window and window != RATE_INTERVAL
    ]


def missing_matchers(expr: str) -> list[str]:
    """Return 'name: label' for each selector of ``expr`` without a job or instance matcher."""
    return [
        f"{name}: {label}"
        for name, matchers in selectors(expr)
        for label in ("job", "instance")
        if not re.search(rf"\b{label}\s*=~?\s*\"\$\{{?{label}\}}?\"", matchers)
    ]


def target_violations(dashboard: dict[str, Any]) -> list[Violation]:
    found = []
    title = dashboard["title"]
    for panel in all_panels(dashboard["panels"]):
        for i, target in enumerate(panel.get("targets") or []):
            expr = target.get("expr", "")
            checks = {
                "target-counter-agg-rule": counters_not_rated(expr),
                "target-rate-interval-rule": rates_without_rate_interval(expr),
                "target-job-rule": [m for m in missing_matchers(expr) if m.endswith(": job")],
                "target-instance-rule": [
                    m for m in missing_matchers(expr) if m.endswith(": instance")
                ],
            }
            for rule, bad in checks.items():
                if bad:
                    found.append(Violation(rule, title, panel["title"], i, ", ".join(bad)))
    return found


def excluded(violation: Violation, lint: dict[str, Any]) -> bool:
    """Tell whether ``lint`` (a parsed .lint) excludes ``violation``, as the linter matches:
    a rule listed without entries is excluded everywhere; else an entry must match the
    dashboard, the panel and (when it names one) the target index."""
    exclusions = lint.get("exclusions") or {}
    if violation.rule not in exclusions:
        return False
    entries = (exclusions[violation.rule] or {}).get("entries") or []
    return not entries or any(
        e.get("dashboard") == violation.dashboard
        and e.get("panel") == violation.panel
        and (e.get("targetIdx") in (None, "") or int(e["targetIdx"]) == violation.target)
        for e in entries
    )


def read_lint() -> dict[str, Any]:
    data = yaml.safe_load(LINT.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_the_dashboard_passes_the_rules_but_for_its_exclusions() -> None:
    lint = read_lint()
    assert [v for v in target_violations(load()) if not excluded(v, lint)] == []


def test_every_exclusion_has_a_reason_and_is_still_needed() -> None:
    """An entry that excludes nothing any more is dropped, so the file stays true."""
    lint, violations = read_lint(), target_violations(load())
    assert set(lint) <= {"exclusions", "warnings"}
    for rule, entries in (lint.get("exclusions") or {}).items():
        assert entries and entries.get("reason"), f"{rule}: no reason"
        for entry in entries.get("entries") or []:
            assert entry.get("reason"), f"{rule}: {entry} has no reason"
            assert entry.get("dashboard") and entry.get("panel"), entry
            one = {"exclusions": {rule: {"entries": [entry]}}}
            assert any(excluded(v, one) for v in violations), f"{rule}: {entry} excludes nothing"


@pytest.mark.parametrize(
    ("expr", "bad"),
    [
        ("something_total", ["something_total"]),
        ("something_total[$__rate_interval]", ["something_total"]),
        ("increase(something_total[$__rate_interval])", []),
        ('rate(a_total{job=~"$job"}[5m]) / b_total{x="y_total"}', ["b_total"]),
        ("sum by (a_total) (rate(x_total[1m]))", []),
        ("max_over_time(a_total[1h])", ["a_total"]),
        ("a_total offset 5m", ["a_total"]),
        ("up", []),
    ],
)
def test_counter_rule(expr: str, bad: list[str]) -> None:
    assert counters_not_rated(expr) == bad


def test_rate_interval_rule() -> None:
    assert rates_without_rate_interval("rate(a_total[$__rate_interval])") == []
    assert rates_without_rate_interval("irate(a_total[5m]) + increase(b_total[$__range])") == ["5m"]


def test_exclusions_match_as_the_linter_does() -> None:
    v = Violation("target-counter-agg-rule", "D", "P", 1, "x_total")
    entry = {"dashboard": "D", "panel": "P"}
    assert excluded(v, {"exclusions": {v.rule: None}})
    assert excluded(v, {"exclusions": {v.rule: {"entries": [entry]}}})
    assert excluded(v, {"exclusions": {v.rule: {"entries": [{**entry, "targetIdx": "1"}]}}})
    assert not excluded(v, {"exclusions": {v.rule: {"entries": [{**entry, "targetIdx": 0}]}}})
    assert not excluded(v, {"exclusions": {v.rule: {"entries": [{"panel": "P"}]}}})
    assert not excluded(v, {"exclusions": {"target-job-rule": None}})


def test_templates_and_panels() -> None:
    dashboard = load()
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for name in ("job", "instance"):
        var = variables[name]
        assert var["type"] == "query", name
        assert var["datasource"]["uid"] == "${datasource}", name
        assert var.get("multi") and var.get("includeAll"), name
    for panel in all_panels(dashboard["panels"]):
        if not panel.get("targets"):
            continue
        assert panel.get("title") and panel.get("description"), panel.get("title")
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
