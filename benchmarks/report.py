"""Tables of figures: medians, the machine line, plain-text and Markdown rendering."""

from __future__ import annotations

import datetime
import os
import platform
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

Cell = str | int | float | bool | None


@dataclass
class Table:
    """One case's results: named columns, one row per measurement, notes below."""

    case: str
    title: str
    columns: tuple[str, ...]
    rows: list[tuple[Cell, ...]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *row: Cell) -> None:
        """Append a row; it must have one cell per column."""
        if len(row) != len(self.columns):
            raise ValueError(f"{self.case}: row has {len(row)} cells, want {len(self.columns)}")
        self.rows.append(row)

    def records(self) -> list[dict[str, Cell]]:
        """Return the rows as column -> cell mappings."""
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-ready mapping."""
        return {
            "case": self.case,
            "title": self.title,
            "columns": list(self.columns),
            "rows": self.records(),
            "notes": self.notes,
        }


def fmt(cell: Cell) -> str:
    """Format one cell for humans."""
    if cell is None:
        return "-"
    if isinstance(cell, bool):
        return "yes" if cell else "NO"
    if isinstance(cell, float):
        return f"{cell:.3f}" if abs(cell) < 100 else f"{cell:.1f}"
    return str(cell)


def render_text(table: Table) -> str:
    """Render a table as aligned plain text."""
    cells = [list(table.columns), *[[fmt(c) for c in row] for row in table.rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(table.columns))]
    lines = [f"== {table.title}"]
    for n, row in enumerate(cells):
        lines.append("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines.extend(f"  * {note}" for note in table.notes)
    return "\n".join(lines) + "\n"


def render_markdown(table: Table) -> str:
    """Render a table as a Markdown section."""
    lines = [
        f"### {table.title}",
        "",
        "| " + " | ".join(table.columns) + " |",
        "|" + "---|" * len(table.columns),
    ]
    lines.extend("| " + " | ".join(fmt(c) for c in row) + " |" for row in table.rows)
    if table.notes:
        lines.append("")
        lines.extend(f"- {note}" for note in table.notes)
    return "\n".join(lines) + "\n"


def median(values: Sequence[float]) -> float:
    """Return the median of a non-empty sequence."""
    return float(statistics.median(values))


def machine() -> dict[str, str | int]:
    """Describe where the figures were taken."""
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": os.cpu_count() or 0,
        "cpu_model": _cpu_model(),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "load_1m": f"{os.getloadavg()[0]:.2f}",
    }


def _cpu_model() -> str:
    """Return the CPU model name from /proc/cpuinfo, if readable."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"
