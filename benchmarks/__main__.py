"""Run the benchmarks and print their tables: ``python -m benchmarks [--quick]``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from benchmarks import (
    bound,
    calls,
    compact,
    detached,
    fleet_calls,
    hostile,
    images,
    latency,
    memory,
    pacing,
    render,
    series_budget,
    transport,
    uhub,
)
from benchmarks.report import Table, machine, render_markdown, render_text
from benchmarks.summary import goals

CASES = (
    "latency",
    "render",
    "calls",
    "memory",
    "hostile",
    "pacing",
    "transport",
    "detached",
    "uhub",
    "compact",
    "calls_per_hour",
    "images",
    "budget",
)
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    p.add_argument(
        "--quick",
        action="store_true",
        help="tiny sizes, a few seconds per case (the smoke test runs this)",
    )
    p.add_argument(
        "--cases", default=",".join(CASES), help="comma-separated subset of: %(default)s"
    )
    p.add_argument("--json", type=Path, metavar="PATH", help="also write the results as JSON")
    p.add_argument(
        "--markdown",
        type=Path,
        metavar="PATH",
        help=f"write the tables into PATH between {BEGIN} and {END}",
    )
    args = p.parse_args(argv)
    args.cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = sorted(set(args.cases) - set(CASES))
    if unknown:
        p.error(f"unknown case(s) {', '.join(unknown)}; choose from {', '.join(CASES)}")
    return args


def runners(quick: bool) -> dict[str, Callable[[], list[Table]]]:
    """Return a runner per case for the chosen sizes."""
    return {
        "latency": lambda: [
            latency.calibrate(5 if quick else 30, 0 if quick else 5),
            latency.run(latency.QUICK if quick else latency.FULL),
            bound.run(bound.QUICK if quick else bound.FULL),
        ],
        "render": lambda: render.run(render.QUICK if quick else render.FULL),
        "calls": lambda: [calls.run(calls.QUICK if quick else calls.FULL)],
        "memory": lambda: [memory.run(memory.QUICK if quick else memory.FULL)],
        "hostile": lambda: [hostile.run(hostile.QUICK if quick else hostile.FULL)],
        "pacing": lambda: [pacing.run(pacing.QUICK if quick else pacing.FULL)],
        "transport": lambda: [transport.run(transport.QUICK if quick else transport.FULL)],
        "detached": lambda: [detached.run(detached.QUICK if quick else detached.FULL)],
        "uhub": lambda: [uhub.run(uhub.QUICK if quick else uhub.FULL)],
        "compact": lambda: [compact.run(compact.QUICK if quick else compact.FULL)],
        "calls_per_hour": lambda: [
            fleet_calls.run(fleet_calls.QUICK if quick else fleet_calls.FULL)
        ],
        "images": lambda: [images.run(images.QUICK if quick else images.FULL)],
        "budget": lambda: [series_budget.run(series_budget.QUICK if quick else series_budget.FULL)],
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chosen cases, print each table as it is done, write the requested files."""
    args = parse_args(argv)
    command = "python -m benchmarks" + (" --quick" if args.quick else "")
    info = machine()
    print(f"{command}  |  " + "  ".join(f"{k}={v}" for k, v in info.items()), flush=True)
    tables: list[Table] = []
    seconds: dict[str, float] = {}
    run = runners(args.quick)
    for case in args.cases:
        started = time.monotonic()
        done = run[case]()
        seconds[case] = time.monotonic() - started
        for table in done:
            print("\n" + render_text(table), end="", flush=True)
        tables += done
    summary = goals(tables)
    tables.append(summary)
    print("\n" + render_text(summary), end="")
    print("\ncase seconds: " + ", ".join(f"{c} {s:.1f}" for c, s in seconds.items()))
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "command": command,
                    "machine": info,
                    "seconds": seconds,
                    "tables": [t.to_json() for t in tables],
                },
                indent=1,
            )
        )
    if args.markdown:
        write_markdown(args.markdown, command, info, tables)
    return 0


def write_markdown(
    path: Path, command: str, info: dict[str, str | int], tables: list[Table]
) -> None:
    """Replace the text between the result markers of ``path`` (create it if needed)."""
    body = "\n".join(
        [
            BEGIN,
            f"Produced by `{command}` on {info['date']}: {info['cpus']} CPUs "
            f"({info['cpu_model']}), Python {info['python']}, {info['platform']}, "
            f"load average {info['load_1m']} at the start.",
            "",
            *(render_markdown(t) for t in tables),
            END,
        ]
    )
    text = path.read_text() if path.exists() else f"# Benchmarks\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text or END not in text:
        text = text.rstrip("\n") + f"\n\n{BEGIN}\n{END}\n"
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    path.write_text(head + body + tail)


if __name__ == "__main__":
    sys.exit(main())
