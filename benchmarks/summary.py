"""The goals of the issue, judged from the case tables."""

from __future__ import annotations

from benchmarks import bound, compact, latency, render
from benchmarks.report import Cell, Table


def goals(tables: list[Table]) -> Table:
    """Return one row per goal whose case ran: does it hold, and the deciding figure."""
    by_case = {t.case: t.records() for t in tables}
    summary = Table("goals", "Goals", ("goal", "holds", "figure"))
    if "latency" in by_case:
        rows = by_case["latency"]
        worst_collect = max(_num(r["collect/bound"]) for r in rows)
        worst_scrape = max(_num(r["scrape/bound"]) for r in rows)
        summary.add(
            f"listing (collect) / bound <= {latency.GOAL}, every cell",
            worst_collect <= latency.GOAL,
            f"worst {worst_collect:.3f}",
        )
        summary.add(
            f"whole scrape / bound <= {latency.GOAL}, every cell",
            worst_scrape <= latency.GOAL,
            f"worst {worst_scrape:.3f}",
        )
        summary.add(
            "exact calls per scrape in the latency cells",
            all(r["calls_exact"] for r in rows),
            f"{len(rows)} cells",
        )
    if "render" in by_case:
        rows = by_case["render"]
        worst = max(_num(r["cpu_ratio"]) for r in rows)
        summary.add(
            f"render CPU <= {render.GOAL} x floor, identical bytes",
            worst <= render.GOAL and all(r["identical"] for r in rows),
            f"worst {worst:.3f}",
        )
    if "calls" in by_case:
        rows = by_case["calls"]
        summary.add(
            "upstream calls exact (per target, single flight, min_interval)",
            all(r["exact"] for r in rows),
            f"{sum(1 for r in rows if r['exact'])}/{len(rows)} checks",
        )
    if "memory" in by_case:
        values = {str(r["measure"]): r["value"] for r in by_case["memory"]}
        growth = next(v for k, v in values.items() if k.startswith("growth ") and "->" in k)
        summary.add(
            "no RSS growth beyond noise over many scrapes",
            bool(values.get("growth within noise")),
            f"{_num(growth):+.1f} MiB",
        )
        ratio = next((v for k, v in values.items() if k.startswith("slowest concurrent")), None)
        if ratio is not None:
            summary.add(
                "concurrent scrapes share one render: slowest <= 1.5 x a lone one",
                _num(ratio) <= 1.5,
                f"{_num(ratio):.2f}x",
            )
    _performance(by_case, summary)
    if "calls_per_hour" in by_case:
        runs = {str(r["run"]): r for r in by_case["calls_per_hour"]}
        before, after = runs["before"], runs["after"]
        summary.add(
            "calls per hour, project_id and regions auto: after (empty interval) below before "
            "by the expected ratio, each within 10 % of its formula",
            all(r["goal"] is True for r in runs.values()),
            f"before {before['calls/h']}/h, after {after['calls/h']}/h: "
            f"{_num(after['before/after']):.2f}x fewer "
            f"(expected {_num(after['expected_ratio']):.2f}x)",
        )
    return summary


def _performance(by_case: dict[str, list[dict[str, Cell]]], summary: Table) -> None:
    """Add the goals of the performance cases (issue 14) that ran."""
    if "hostile" in by_case:
        rows = by_case["hostile"]
        summary.add(
            "hostile gateway: calls, RSS and answer time within their bounds",
            all(r["holds"] for r in rows),
            f"{sum(1 for r in rows if r['holds'])}/{len(rows)} checks",
        )
    if "pacing" in by_case:
        row = next(r for r in by_case["pacing"] if r["adaptive"] is True)
        summary.add(
            "throttled API: >= 0.6 N, < 10% throttled, listing finished (AIMD)",
            bool(row["holds"]),
            f"{_num(row['rate/N']):.2f} N, {_num(row['throttled_share']):.1%} throttled",
        )
    if "detached" in by_case:
        rows = by_case["detached"]
        summary.add(
            "detached listings: every scrape on time, all up and fresh by the 7th",
            all(r["holds"] for r in rows),
            f"slowest {max(_num(r['seconds']) for r in rows):.2f} s, "
            f"{rows[-1]['targets_up']} up at scrape {rows[-1]['scrape']}",
        )
    if "bound" in by_case:
        rows = by_case["bound"]
        ratios = ", ".join(f"{r['in_flight']}: {_num(r['scrape/bound']):.3f}" for r in rows)
        floors = ", ".join(f"{_num(r['floor/bound']):.3f}" for r in rows)
        summary.add(
            f"scrape / bound <= {bound.GOAL} at every in-flight setting",
            all(_num(r["scrape/bound"]) <= bound.GOAL for r in rows),
            f"in flight {ratios} (a client doing no work: {floors})",
        )
    if "transport" in by_case:
        rows = by_case["transport"]
        default = next(r for r in rows if r["default"] is True)
        best = min(rows, key=lambda r: _num(r["cpu_ms_per_request"]))
        summary.add(
            "exporter CPU per upstream request <= 1.0 ms, render included (default)",
            _num(default["cpu_ms_per_request"]) <= 1.0,
            f"{_num(default['cpu_ms_per_request']):.2f} ms ({default['transport']}, "
            f"{default['loop']}: listing {_num(default['listing_ms']):.2f}, serving "
            f"{_num(default['serve_ms']):.2f}); best {_num(best['cpu_ms_per_request']):.2f} ms "
            f"({best['transport']}, {best['loop']})",
        )
        summary.add(
            "the same with every target's buckets changed at every scrape (no line cache hit)",
            _num(default["changed_ms"]) <= 1.0,
            f"{_num(default['changed_ms']):.2f} ms",
        )
    if "compact" in by_case:
        got = {str(r["measure"]): r for r in by_case["compact"]}
        steady = got["steady RSS after two scrapes (VmRSS)"]
        peak = got["two overlapping gzip scrapes: peak RSS"]
        per_bucket = _num(got["bytes per bucket, (steady - idle) / buckets"]["value"])
        summary.add(
            f"steady RSS <= {compact.STEADY_GOAL_MIB} MiB ({steady['buckets']:,} buckets)",
            bool(steady["holds"]),
            f"{_num(steady['value']):.0f} MiB, {per_bucket:.0f} B/bucket",
        )
        summary.add(
            f"peak RSS, two overlapping scrapes <= {compact.PEAK_GOAL_MIB} MiB "
            f"({peak['buckets']:,} buckets)",
            bool(peak["holds"]),
            f"{_num(peak['value']):.0f} MiB",
        )


def _num(cell: Cell) -> float:
    """Return a numeric cell as float."""
    if isinstance(cell, bool) or not isinstance(cell, int | float):
        raise TypeError(f"not a number: {cell!r}")
    return float(cell)
