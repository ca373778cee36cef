"""The Prometheus rules and example configs under prometheus/, loaded for the rule tests."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from exporter import metrics

ROOT = Path(__file__).resolve().parents[2]
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
# Labels the exporter's series carry (from the metric catalogue, UHub families included) and
# Prometheus adds.
ALERT_LABELS = {"job", "instance"} | {
    label for f in (*metrics.CATALOGUE, *metrics.UHUB_FAMILIES) for label in f.labels
}
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
