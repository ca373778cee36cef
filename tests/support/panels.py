"""Read the committed Grafana dashboard: its panels, queries and variables, for tests.

The lint (tests/test_dashboard.py) and the end-to-end tests that run every panel query
against a real Prometheus share these helpers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "grafana" / "dashboards" / "ucloud-image-buckets.json"

# What Grafana would put in place of the variables (All = ".+", the bucket box's ".*").
SUBSTITUTIONS = {
    "__rate_interval": "1m",
    "__range": "1h",
    "__interval": "1m",
    "exporter_jobs": "ucloud-image-(exporter|probe).*",
    "job": ".+",
    "instance": ".+",
    "account": ".+",
    "project": ".+",
    "region": ".+",
    "type": ".+",
    "bucket": ".*",
}
VARIABLE_RE = re.compile(r"\$\{(\w+)\}|\$(\w+)")
SELECTOR_RE = re.compile(r"(?<![\w:])([a-zA-Z_:][\w:]*)\{([^}]*)\}")
LABEL_VALUES_RE = re.compile(r"^label_values\((.+),\s*(\w+)\)$")


@dataclass(frozen=True)
class Query:
    """One query of one panel."""

    panel: str
    panel_type: str
    ref_id: str
    expr: str
    instant: bool

    @property
    def where(self) -> str:
        return f"{self.panel} / {self.ref_id}"


def load() -> dict[str, Any]:
    data = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def all_panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every panel, including those nested in (collapsed) rows."""
    for panel in panels:
        yield panel
        yield from all_panels(panel.get("panels") or [])


def visual_panels() -> list[dict[str, Any]]:
    return [p for p in all_panels(load()["panels"]) if p["type"] != "row"]


def row_titles(row: str) -> set[str]:
    """Titles of the panels of the row titled ``row`` (collapsed rows nest their panels)."""
    panels = load()["panels"]
    start = next(i for i, p in enumerate(panels) if p["type"] == "row" and p["title"] == row)
    nested = {p["title"] for p in panels[start].get("panels") or []}
    following = []
    for panel in panels[start + 1 :]:
        if panel["type"] == "row":
            break
        following.append(panel["title"])
    return nested | set(following)


def queries() -> list[Query]:
    return [
        Query(
            panel["title"],
            panel["type"],
            target.get("refId", ""),
            target["expr"],
            bool(target.get("instant")),
        )
        for panel in visual_panels()
        for target in panel.get("targets") or []
    ]


def variables() -> dict[str, dict[str, Any]]:
    return {v["name"]: v for v in load()["templating"]["list"]}


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


def substitute(expr: str, **values: str) -> str:
    """``expr`` with Grafana's variables replaced: ``SUBSTITUTIONS``, overridden by ``values``."""
    table = {**SUBSTITUTIONS, **values}

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        assert name in table, f"unknown variable ${name} in {expr}"
        return table[name]

    return VARIABLE_RE.sub(replace, expr)


def selectors(expr: str) -> list[tuple[str, str]]:
    """(metric name, matchers text) of every ``name{...}`` selector in ``expr``."""
    return SELECTOR_RE.findall(expr)
