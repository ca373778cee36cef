"""Checks of the Prometheus rules and example configs under prometheus/.

promtool and amtool do the real work (syntax, PromQL, rule unit tests); the
Python checks keep the conventions: every alert unit-tested both ways, names,
severities, annotations, recording-rule naming.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from exporter import metrics
from tests.support.realparts import require_binary

ROOT = Path(__file__).resolve().parent.parent
PROM = ROOT / "prometheus"
RUNBOOKS = ROOT / "docs" / "runbooks.md"
RUNBOOK_BASE = (
    "https://github.com/ucloud-image-exporter/ucloud-image-exporter/blob/main/docs/runbooks.md"
)
ALERTS = PROM / "alerts.yml"
RECORDING = PROM / "recording.yml"
UNIT_TESTS = sorted((PROM / "tests").glob("*.yml"))

SEVERITIES = {"critical", "warning", "info"}
EXAMPLE_JOB = "ucloud-image-exporter"
# Labels the exporter's series carry (from the metric catalogue) and Prometheus adds.
ALERT_LABELS = {"job", "instance"} | {label for f in metrics.CATALOGUE for label in f.labels}
COUNTERS = "|".join(re.escape(f.name) for f in metrics.CATALOGUE if f.type == "counter")


def run(*args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(arg) for arg in args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, (
        f"{' '.join(map(str, args))} exited {result.returncode}\n"
        f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )
    return result


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def rules_of(path: Path) -> list[dict[str, Any]]:
    return [rule for group in load(path)["groups"] for rule in group["rules"]]


def alert_rules() -> list[dict[str, Any]]:
    return [rule for rule in rules_of(ALERTS) if "alert" in rule]


def duration_seconds(text: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
    parts = re.findall(r"(\d+)(ms|s|m|h|d|w|y)", text)
    assert parts and "".join(n + u for n, u in parts) == text, f"bad duration {text!r}"
    return sum(int(n) * units[u] for n, u in parts)


# --------------------------------------------------------------------------
# promtool / amtool
# --------------------------------------------------------------------------


def test_promtool_check_rules() -> None:
    promtool = require_binary("promtool")
    out = run(promtool, "check", "rules", ALERTS, RECORDING)
    assert "SUCCESS" in out.stdout


def test_promtool_check_config() -> None:
    # rule_files in prometheus.yml are relative to the config file, so the
    # check also loads alerts.yml and recording.yml.
    promtool = require_binary("promtool")
    out = run(promtool, "check", "config", PROM / "prometheus.yml")
    assert "2 rule files found" in out.stdout


def test_amtool_check_config() -> None:
    amtool = require_binary("amtool")
    run(amtool, "check-config", PROM / "alertmanager.yml")


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (["severity=critical", "alertname=UCloudImageApiAuthErrors"], "pager"),
        (["severity=warning", "alertname=UCloudImageTargetFailing"], "default"),
        (["severity=info", "alertname=UCloudImageCountSurge"], "default"),
    ],
)
def test_alertmanager_routing(labels: list[str], receiver: str) -> None:
    amtool = require_binary("amtool")
    out = run(
        amtool,
        "config",
        "routes",
        "test",
        f"--config.file={PROM / 'alertmanager.yml'}",
        *labels,
    )
    assert out.stdout.split() == [receiver]


def test_promtool_unit_tests_pass() -> None:
    assert UNIT_TESTS, "no rule unit tests under prometheus/tests/"
    promtool = require_binary("promtool")
    out = run(promtool, "test", "rules", *UNIT_TESTS)
    assert "FAILED" not in out.stdout + out.stderr


# --------------------------------------------------------------------------
# Every alert is unit-tested, firing and quiet
# --------------------------------------------------------------------------


def alert_cases() -> dict[str, dict[str, int]]:
    """alertname -> {"fires": n, "quiet": n} over all alert_rule_test cases."""
    cases: dict[str, dict[str, int]] = {}
    for path in UNIT_TESTS:
        for test in load(path).get("tests") or []:
            for case in test.get("alert_rule_test") or []:
                counts = cases.setdefault(case["alertname"], {"fires": 0, "quiet": 0})
                counts["fires" if case.get("exp_alerts") else "quiet"] += 1
    return cases


def test_every_alert_is_unit_tested_both_ways() -> None:
    defined = {rule["alert"] for rule in alert_rules()}
    cases = alert_cases()
    assert set(cases) - defined == set(), "unit tests name alerts that alerts.yml lacks"
    assert defined - set(cases) == set(), "alerts without unit tests"
    for name in sorted(defined):
        assert cases[name]["fires"] >= 1, f"{name}: no unit test where it fires"
        assert cases[name]["quiet"] >= 1, f"{name}: no unit test where it must stay quiet"


def test_firing_cases_assert_labels_and_annotations() -> None:
    for path in UNIT_TESTS:
        for test in load(path).get("tests") or []:
            for case in test.get("alert_rule_test") or []:
                for alert in case.get("exp_alerts") or []:
                    where = f"{path.name} / {test.get('name')} / {case['alertname']}"
                    assert alert.get("exp_labels", {}).get("severity"), where
                    annotations = alert.get("exp_annotations") or {}
                    assert {"summary", "description"} <= set(annotations), where


def test_recording_rules_are_unit_tested() -> None:
    tested = " ".join(
        expr_test["expr"]
        for path in UNIT_TESTS
        for test in load(path).get("tests") or []
        for expr_test in test.get("promql_expr_test") or []
    )
    for rule in rules_of(RECORDING):
        assert re.search(rf"(?<![\w:]){re.escape(rule['record'])}(?![\w:])", tested), (
            f"recording rule {rule['record']} has no promql_expr_test"
        )


# --------------------------------------------------------------------------
# Conventions
# --------------------------------------------------------------------------


def test_alert_conventions() -> None:
    rules = alert_rules()
    names = [rule["alert"] for rule in rules]
    assert len(names) == len(set(names)), "duplicate alert names"
    for rule in rules:
        name = rule["alert"]
        assert re.fullmatch(r"UCloudImage[A-Z][A-Za-z]+", name), name
        assert rule.get("labels", {}).get("severity") in SEVERITIES, name
        annotations = rule.get("annotations", {})
        assert "{{" not in annotations.get("summary", "{{"), f"{name}: summary must be static"
        description = annotations.get("description", "")
        assert "$value" in description, f"{name}: description should show {{{{ $value }}}}"
        # Descriptions may only use labels the exporter's series carry.
        for label in re.findall(r"\$labels\.(\w+)", description):
            assert label in ALERT_LABELS, f"{name}: description uses $labels.{label}"
        assert duration_seconds(rule.get("for", "0s")) >= 300, f"{name}: for < 5m flaps"


def test_required_alerts_exist() -> None:
    exprs = {rule["alert"]: " ".join(rule["expr"].split()) for rule in alert_rules()}
    severity = {rule["alert"]: rule["labels"]["severity"] for rule in alert_rules()}
    assert "== 0" in exprs["UCloudImageExporterDown"]
    assert exprs["UCloudImageExporterAbsent"].startswith("absent(up{")
    assert f"{metrics.UP.name} == 0" in exprs["UCloudImageTargetFailing"]
    assert severity["UCloudImageApiAuthErrors"] == "critical"
    # The gauge stays present while a target fails, whatever collect.min_interval_seconds is.
    assert f"{metrics.ERROR_INFO.name}{{" in exprs["UCloudImageApiAuthErrors"]
    assert "_total" not in exprs["UCloudImageApiAuthErrors"]
    assert severity["UCloudImageBucketDisappeared"] == "info"
    assert severity["UCloudImageApiThrottled"] == "warning"
    assert severity["UCloudImageApiErrors"] == "warning"
    assert severity["UCloudImageDataStale"] == "warning"
    assert (
        f"time() - {metrics.LAST_SUCCESS.name}"
        in exprs["UCloudImageDataStale"]
    )
    assert "offset 1h" in exprs["UCloudImageBucketDisappeared"]
    assert f"{metrics.UP.name} == 1" in exprs["UCloudImageBucketDisappeared"]
    assert "offset 1h" in exprs["UCloudImageCountSurge"]


@pytest.mark.parametrize("reason", [f"retcode_{n}" for n in (*range(170, 175), *range(292, 300))])
def test_auth_reasons_are_critical_only(reason: str) -> None:
    """The auth RetCodes match the auth alert's regex and no other alert's."""
    matching = []
    for rule in alert_rules():
        for op, regex in re.findall(r'reason(=~|!~)"([^"]+)"', rule["expr"]):
            hit = re.fullmatch(regex, reason) is not None
            if (op == "=~") == hit:
                matching.append(rule["alert"])
    assert matching == ["UCloudImageApiAuthErrors"]


@pytest.mark.parametrize("example", ["prometheus.yml", "prometheus-sharded.yml"])
def test_up_alerts_match_every_example_job(example: str) -> None:
    """The "exporter is gone" alerts cover the /metrics job and the sharded /probe job."""
    jobs = [scrape["job_name"] for scrape in load(PROM / example)["scrape_configs"]]
    assert jobs
    regexes = [
        (rule["alert"], regex)
        for rule in alert_rules()
        for regex in re.findall(r'up\{job=~"([^"]+)"\}', rule["expr"])
    ]
    assert {alert for alert, _ in regexes} == {
        "UCloudImageExporterDown",
        "UCloudImageExporterAbsent",
    }
    for alert, regex in regexes:
        for job in jobs:
            assert re.fullmatch(regex, job), f"{alert}: {regex} misses job {job} of {example}"


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    anchor = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return anchor.replace(" ", "-")


def test_every_alert_links_to_a_runbook_heading() -> None:
    headings = {
        github_anchor(line.lstrip("#"))
        for line in RUNBOOKS.read_text(encoding="utf-8").splitlines()
        if line.startswith("#")
    }
    for rule in alert_rules():
        url = rule["annotations"].get("runbook_url", "")
        base, _, anchor = url.partition("#")
        assert base == RUNBOOK_BASE, f"{rule['alert']}: runbook_url {url!r}"
        assert anchor in headings, f"{rule['alert']}: no heading #{anchor} in {RUNBOOKS.name}"
    runbook = RUNBOOKS.read_text(encoding="utf-8")
    for name in (rule["alert"] for rule in alert_rules()):
        section = runbook.split(f"## {name}\n", 1)[1].split("\n## ", 1)[0]
        for part in ("**Meaning.**", "**Confirm.**", "```promql", "**Act.**"):
            assert part in section, f"runbook of {name} lacks {part}"


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [("UCloudImageApiErrors", "ucloudimageapierrors"), ("A b-c (d)", "a-b-c-d")],
)
def test_github_anchor(heading: str, anchor: str) -> None:
    assert github_anchor(heading) == anchor


COUNTER_WINDOW_RE = re.compile(
    rf"(?:increase|rate)\(({COUNTERS})(\{{[^}}]*\}})?\[(\w+)\]\)"
)


def test_counter_alerts_count_the_first_increment() -> None:
    """A counter is born at its first increment: increase() alone would miss it.

    Every increase()/rate() of a counter in an alert comes with the birth term
    ``(increase(x[W]) and x offset W) or x``.
    """
    for rule in alert_rules():
        expr = " ".join(rule["expr"].split())
        for metric, matchers, window in COUNTER_WINDOW_RE.findall(expr):
            selector = f"{metric}{matchers}"
            assert f"and {selector} offset {window}" in expr, (rule["alert"], selector)
            assert f"or {selector}" in expr, (rule["alert"], selector)


def test_counter_alerts_are_tested_with_counters_born_above_zero() -> None:
    """Each alert on a counter fires in a case whose counter's first sample is not 0."""
    counter_alerts = {rule["alert"] for rule in alert_rules() if "_total" in rule["expr"]}
    assert counter_alerts
    born_above_zero = set()
    for path in UNIT_TESTS:
        for test in load(path).get("tests") or []:
            born = any(
                "_total{" in series["series"]
                and re.match(r"[1-9]", series["values"].split()[0])
                for series in test.get("input_series") or []
            )
            for case in test.get("alert_rule_test") or []:
                if born and case.get("exp_alerts"):
                    born_above_zero.add(case["alertname"])
    assert counter_alerts <= born_above_zero, sorted(counter_alerts - born_above_zero)


def test_recording_rule_names_follow_convention() -> None:
    for rule in rules_of(RECORDING):
        level, metric, operations = rule["record"].split(":")
        assert re.fullmatch(r"[a-z_]+", level), rule["record"]
        assert not metric.endswith("_total"), f"{rule['record']}: drop _total after rate"
        assert metric in {f.base for f in metrics.CATALOGUE}, f"{rule['record']}: not a family"
        assert re.fullmatch(r"[a-z0-9_]+", operations), rule["record"]


def test_example_prometheus_config() -> None:
    config = load(PROM / "prometheus.yml")
    assert set(config["rule_files"]) == {"alerts.yml", "recording.yml"}
    assert config["alerting"]["alertmanagers"]
    (job,) = [s for s in config["scrape_configs"] if s["job_name"] == EXAMPLE_JOB]
    assert job["scrape_interval"] == "60s"
    assert job["scrape_timeout"] == "30s"
    assert job["static_configs"][0]["targets"] == ["localhost:9787"]


def test_example_alertmanager_config() -> None:
    config = load(PROM / "alertmanager.yml")
    assert {"alertname", "account", "region"} <= set(config["route"]["group_by"])
    for receiver in config["receivers"]:
        for hook in receiver.get("webhook_configs", []):
            assert hook["url"].startswith("http://127.0.0.1:"), hook["url"]
