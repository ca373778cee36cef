"""Checks of the Prometheus rules and example configs under prometheus/.

promtool and amtool do the real work (syntax, PromQL, rule unit tests); the
Python checks keep the conventions: every alert unit-tested both ways, names,
severities, annotations, recording-rule naming.
"""

from __future__ import annotations

import re

import pytest

from tests.support.realparts import require_binary
from tests.support.rules import (
    ALERTS,
    PROM,
    RECORDING,
    UNIT_TESTS,
    alert_rules,
    load,
    rules_of,
    run,
)

# --------------------------------------------------------------------------
# promtool / amtool
# --------------------------------------------------------------------------


@pytest.mark.e2e
def test_promtool_check_rules() -> None:
    promtool = require_binary("promtool")
    out = run(promtool, "check", "rules", ALERTS, RECORDING)
    assert "SUCCESS" in out.stdout


@pytest.mark.e2e
def test_promtool_check_config() -> None:
    # rule_files in prometheus.yml are relative to the config file, so the
    # check also loads alerts.yml and recording.yml.
    promtool = require_binary("promtool")
    out = run(promtool, "check", "config", PROM / "prometheus.yml")
    assert "2 rule files found" in out.stdout


@pytest.mark.e2e
def test_amtool_check_config() -> None:
    amtool = require_binary("amtool")
    run(amtool, "check-config", PROM / "alertmanager.yml")


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (["severity=critical", "alertname=UCloudImageApiAuthErrors"], "pager"),
        (["severity=warning", "alertname=UCloudImageTargetFailing"], "default"),
        (["severity=info", "alertname=UCloudImageCountSurge"], "default"),
        (["severity=warning", "alertname=UCloudImageUHubTagsNearLimit"], "default"),
        (["severity=info", "alertname=UCloudImageUHubReposAtLimit"], "default"),
        (["severity=warning", "alertname=UCloudImageHostImagesNearQuota"], "default"),
        (["severity=info", "alertname=UCloudImageHostImageOsEndOfLife"], "default"),
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


@pytest.mark.e2e
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
