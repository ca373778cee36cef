"""Conventions of the Prometheus rules under prometheus/: names, severities, annotations,
runbook links, counters' first increment, recording-rule naming; and the example configs.
"""

from __future__ import annotations

import re

import pytest

from exporter import metrics
from tests.support.rules import (
    ALERT_LABELS,
    COUNTERS,
    EXAMPLE_JOB,
    PROM,
    RECORDING,
    RUNBOOK_BASE,
    RUNBOOKS,
    SEVERITIES,
    UNIT_TESTS,
    alert_rules,
    duration_seconds,
    load,
    rules_of,
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
    assert f"time() - {metrics.LAST_SUCCESS.name}" in exprs["UCloudImageDataStale"]
    assert "offset 1h" in exprs["UCloudImageBucketDisappeared"]
    assert f"{metrics.UP.name} == 1" in exprs["UCloudImageBucketDisappeared"]
    assert "offset 1h" in exprs["UCloudImageCountSurge"]


def test_uhub_alerts_follow_uhubs_limits_and_refresh() -> None:
    """UHub's limits (800 tags, 8 repositories) and its 300 s background refresh."""
    rules = {rule["alert"]: rule for rule in alert_rules()}
    exprs = {name: " ".join(rule["expr"].split()) for name, rule in rules.items()}
    tags, repos = "UCloudImageUHubTagsNearLimit", "UCloudImageUHubReposAtLimit"
    failing, stale = "UCloudImageUHubRefreshFailing", "UCloudImageUHubDataStale"
    warn_from = metrics.UHUB_MAX_TAGS - 100  # the dashboard's orange step, too
    assert exprs[tags] == f"{metrics.UHUB_IMAGE_TAGS.name} > {warn_from}"
    assert exprs[repos] == f"{metrics.UHUB_REPOS.name} >= {metrics.UHUB_MAX_REPOS}"
    assert exprs[failing] == f"{metrics.UHUB_UP.name} == 0"
    # uhub.refresh_seconds' default: a UHub value changes at most once per refresh, so the
    # alerts wait for about three refreshes, and the data is stale after three intervals.
    refresh = 300
    last = metrics.UHUB_LAST_SUCCESS.name
    assert exprs[stale] == f"(time() - {last} > {3 * refresh}) and {last} > 0"
    for name in (tags, repos, failing):
        assert duration_seconds(rules[name]["for"]) >= 3 * refresh, name
    severity = {name: rules[name]["labels"]["severity"] for name in (tags, repos, failing, stale)}
    assert severity == {tags: "warning", repos: "info", failing: "warning", stale: "warning"}


def test_image_source_alerts_follow_their_refresh_and_the_quota() -> None:
    """Images inside buckets and custom host images: refreshed every 600 s by default (the
    failing alerts wait about three refreshes, the data is stale after three intervals); the
    quota alert fires from exactly 90 %, on every state, only where a quota is known."""
    rules = {rule["alert"]: rule for rule in alert_rules()}
    exprs = {name: " ".join(rule["expr"].split()) for name, rule in rules.items()}
    refresh = 600
    for source, up, last in (
        ("DockerImages", metrics.DOCKER_UP.name, metrics.DOCKER_LAST_SUCCESS.name),
        ("HostImages", metrics.HOST_UP.name, metrics.HOST_LAST_SUCCESS.name),
    ):
        failing, stale = f"UCloudImage{source}RefreshFailing", f"UCloudImage{source}DataStale"
        assert exprs[failing] == f"{up} == 0"
        assert duration_seconds(rules[failing]["for"]) >= 3 * refresh, failing
        assert exprs[stale] == f"(time() - {last} > {3 * refresh}) and {last} > 0"
        for name in (failing, stale):
            assert rules[name]["labels"]["severity"] == "warning", name
    images, quota = metrics.HOST_IMAGES.name, metrics.HOST_QUOTA.name
    near = "UCloudImageHostImagesNearQuota"
    assert exprs[near] == f"sum without (state) ({images}) / {quota} >= 0.9"
    assert rules[near]["for"] == "15m" and rules[near]["labels"]["severity"] == "warning"
    unavailable = "UCloudImageHostImageUnavailable"
    assert exprs[unavailable] == f'{images}{{state="Unavailable"}} > 0'
    assert rules[unavailable]["for"] == "30m"
    assert rules[unavailable]["labels"]["severity"] == "warning"
    eol = "UCloudImageHostImageOsEndOfLife"
    assert exprs[eol].startswith(f"( {metrics.HOST_IMAGE_EOL.name} * on (")
    assert f"group_left (name, os) {metrics.HOST_IMAGE_INFO.name} )" in exprs[eol]
    assert exprs[eol].endswith("< time() + 30 * 86400")
    assert rules[eol]["labels"]["severity"] == "info"
    # Every alert of a target names it: account, project and region in the description.
    for name in (near, unavailable, eol, "UCloudImageHostImagesRefreshFailing"):
        description = rules[name]["annotations"]["description"]
        for label in ("account", "project", "region"):
            assert f"$labels.{label}" in description, (name, label)


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


COUNTER_WINDOW_RE = re.compile(rf"(?:increase|rate)\(({COUNTERS})(\{{[^}}]*\}})?\[(\w+)\]\)")


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
                "_total{" in series["series"] and re.match(r"[1-9]", series["values"].split()[0])
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
