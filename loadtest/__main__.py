"""``python -m loadtest [--quick] [--runs ...]``: load, soak, hostile clients, a huge registry
and a reload storm.

load: single flight and latency; soak: flat resources under random faults; slowloris: idle and
byte-a-time connections against the read-header timeout; burst: requests arriving at once;
stalled: clients that ask for a big page and never read it; uhub: a UHub registry of 600,000
images (quick: 60,000) against uhub.max_images, scraped with a 10 s timeout header; reload:
``POST /-/reload`` and SIGHUP storms of an unchanged config; credentials: temporary keys of
30 s (quick: 3 s) expiring and refreshed under scrapes every 0.5 s for 120 s (quick: 10 s).

Everything runs on 127.0.0.1: the simulator in this process, the exporter as a child process.
Exit status 0 when every invariant held, 1 otherwise.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from loadtest.attacks import (
    BurstResult,
    ReloadStormResult,
    SlowlorisResult,
    burst_run,
    figures,
    reload_storm_run,
    slowloris_run,
)
from loadtest.credentials import CredentialsResult, credentials_run
from loadtest.runs import LoadResult, SoakResult, load_run, soak_run
from loadtest.scrape import Outcome, percentile
from loadtest.stalled import StalledResult, stalled_run
from loadtest.uhub import UHubResult, uhub_run

RUNS = ("load", "soak", "slowloris", "burst", "stalled", "uhub", "reload", "credentials")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line; --quick picks the short variant the tests run."""
    p = argparse.ArgumentParser(prog="python -m loadtest", description=__doc__)
    p.add_argument(
        "--quick",
        action="store_true",
        help="10 scrapers x 3 s and 150 soak scrapes (default 50 x 30 s and 2000)",
    )
    p.add_argument("--scrapers", type=int, help="concurrent scrapers in the load run")
    p.add_argument("--seconds", type=float, help="length of the load run")
    p.add_argument("--soak-scrapes", type=int, help="scrapes in the soak run")
    p.add_argument("--latency", type=float, default=0.05, help="simulator latency per request")
    p.add_argument(
        "--idle", type=int, help="silent connections in the slowloris run (default 1000, quick 100)"
    )
    p.add_argument(
        "--slow", type=int, help="byte-a-time clients in the slowloris run (default 300, quick 30)"
    )
    p.add_argument(
        "--burst-threads",
        type=int,
        help="threads of the burst, each opening 10 connections (default 200, quick 40)",
    )
    p.add_argument(
        "--reload-posts",
        type=int,
        help="POST /-/reload in the reload storm (default 800, quick 200)",
    )
    p.add_argument(
        "--runs",
        default=",".join(RUNS),
        help=f"comma-separated runs to make (default all: {','.join(RUNS)})",
    )
    p.add_argument(
        "--uhub-images", type=int, help="images of the uhub run (default 600000, quick 60000)"
    )
    p.add_argument(
        "--stalled",
        type=int,
        help="clients of a 9 MB page that never read, in the stalled run (default 40, quick 10; "
        "at most 1000: each also holds up to net.ipv4.tcp_wmem's maximum of kernel memory)",
    )
    p.add_argument(
        "--key-lifetime", type=float, help="credentials run: key lifetime (default 30, quick 3)"
    )
    p.add_argument(
        "--key-seconds", type=float, help="credentials run: length (default 120, quick 10)"
    )
    args = p.parse_args(argv)
    if args.stalled is not None and not 0 < args.stalled <= 1000:
        p.error(f"argument --stalled: must be 1 to 1000, got {args.stalled}")
    args.stalled = args.stalled or (10 if args.quick else 40)
    args.runs = [r.strip() for r in args.runs.split(",") if r.strip()]
    unknown = sorted(set(args.runs) - set(RUNS))
    if unknown:
        p.error(f"--runs: unknown run {unknown[0]!r} (known: {', '.join(RUNS)})")
    args.uhub_images = args.uhub_images or (60_000 if args.quick else 600_000)
    args.reload_posts = args.reload_posts or (200 if args.quick else 800)
    args.idle = args.idle or (100 if args.quick else 1000)
    args.slow = args.slow or (30 if args.quick else 300)
    args.burst_threads = args.burst_threads or (40 if args.quick else 200)
    args.drip, args.header_timeout = (0.5, 1.5) if args.quick else (5.0, 10.0)
    args.scrapers = args.scrapers or (10 if args.quick else 50)
    args.seconds = args.seconds or (3.0 if args.quick else 30.0)
    args.soak_scrapes = args.soak_scrapes or (150 if args.quick else 2000)
    args.key_lifetime = args.key_lifetime or (3.0 if args.quick else 30.0)
    args.key_seconds = args.key_seconds or (10.0 if args.quick else 120.0)
    return args


def report_load(r: LoadResult) -> None:
    """Print the load run's figures."""
    times = r.times()
    ok = sum(o.complete for o in r.outcomes)
    print(
        f"load: {r.scrapers} concurrent scrapers for {r.seconds:g} s, one exporter, "
        f"simulator latency {r.latency * 1000:g} ms, {len(r.listings)} targets"
    )
    print(
        f"  scrapes {len(r.outcomes)}, 200 and complete {ok}, {len(r.outcomes) / r.seconds:.1f}/s"
    )
    print(
        f"  response time p50 {percentile(times, 50):.3f} s, p99 {percentile(times, 99):.3f} s,"
        f" max {max(times, default=0):.3f} s"
    )
    listings = sum(r.listings.values()) / max(1, len(r.listings))
    print(
        f"  upstream listings per target {listings:g} (one per collection: "
        f"{len(r.outcomes) / max(listings, 1):.1f} scrapes shared each)"
    )


def report_soak(r: SoakResult) -> None:
    """Print the soak run's figures."""
    ok = sum(o.complete for o in r.outcomes)
    times = [o.seconds for o in r.outcomes]
    print(
        f"soak: {len(r.outcomes)} scrapes in {r.seconds:.0f} s, each after one random "
        f"fault (times=1) on a random region; {len(r.faults)} fault kinds"
    )
    print(
        f"  200 and complete {ok}; response time p50 {percentile(times, 50):.3f} s, "
        f"p99 {percentile(times, 99):.3f} s"
    )
    print("  exporter     scrapes   RSS MiB   open fds   threads")
    for label, (done, s) in (("first", r.stats[0]), ("last", r.stats[-1])) if r.stats else ():
        print(f"  {label:<10} {done:>9} {s.rss_kib / 1024:>9.1f} {s.fds:>10} {s.threads:>9}")
    print("  RSS MiB after each batch: " + " ".join(f"{s.rss_kib / 1024:.0f}" for _, s in r.stats))


def report_slowloris(r: SlowlorisResult, drip: float) -> None:
    """Print the slowloris run's figures."""
    print(
        f"slowloris: {r.idle} idle connections and {r.slow} clients sending a byte every "
        f"{drip:g} s, read-header timeout {r.header_timeout:g} s"
    )
    print(
        f"  legitimate scrapes {len(r.scrapes)}, 200: "
        f"{sum(o.status == 200 for o in r.scrapes)}; {figures([o.seconds for o in r.scrapes])}"
    )
    print(
        f"  attackers closed by the server {len(r.closed_after)}, still open {r.still_open}; "
        f"closed after {figures(r.closed_after)}"
    )
    print(f"  RSS growth {r.rss_growth_mib:.1f} MiB")


def report_burst(r: BurstResult) -> None:
    """Print the burst run's figures."""
    print(f"burst: {r.requests} requests sent at once on connections opened together")
    print(f"  answers {dict(sorted(r.statuses.items()))}; wait {figures(r.waits)}")
    print(f"  legitimate scrape during the burst: {_said(r.legit)}")


def _said(o: Outcome | None) -> str:
    """Return ``200 in 0.026 s`` (and what was wrong with the answer, if anything)."""
    if o is None:
        return "none"
    return f"{o.status} in {o.seconds:.3f} s" + (f" ({o.problem})" if o.problem else "")


def report_stalled(r: StalledResult) -> None:
    """Print the stalled run's figures."""
    print(
        f"stalled: {r.clients} clients each ask for a {r.page_bytes / 1e6:.1f} MB plain page "
        f"and never read; measured after {r.hold:g} s"
    )
    print(f"  legitimate gzip scrape before the attack: {_said(r.alone)}")
    what = {"distinct": "a scrape timeout each (no two alike)", "query": "only ?x=i differs"}
    rows = [("idle", r.idle)]
    for v in r.variants:
        probes = Counter(f"{path} {o.status}" for path, o in v.probes)
        print(
            f"  {v.name}, {what.get(v.name, v.name)}: attackers were sent "
            f"{dict(sorted(v.attackers.items()))} (0: nothing yet)"
        )
        print(
            f"    {', '.join(f'{k} x{n}' for k, n in sorted(probes.items()))}; "
            f"{figures([o.seconds for _, o in v.probes])}"
        )
        print(
            f"    legitimate gzip scrape (10 s timeout): {_said(v.legit)}; exporter CPU while they "
            f"held {v.cpu_seconds:.2f} s"
        )
        print(
            f"    RSS peak +{r.growth_mib(v):.1f} MiB over idle (host TCP buffers "
            f"+{v.tcp_mib:.0f} MiB); health 200 again {v.recovered_after:.2f} s after they closed"
        )
        rows += [(f"{v.name} peak", v.peak), (f"{v.name} after", v.after)]
    print("  exporter           RSS MiB   open fds   threads")
    for label, s in rows:
        if s is not None:
            print(f"  {label:<16} {s.rss_kib / 1024:>9.1f} {s.fds:>10} {s.threads:>9}")


def report_uhub(r: UHubResult) -> None:
    """Print the uhub run's figures."""
    print(
        f"uhub: a registry of {r.images} images in 8 repositories beside 1000 buckets, "
        f"scrapes with a {r.header:g} s timeout header"
    )
    print(
        f"  first UHub series after {r.refresh_seconds:.1f} s; "
        f"RSS at start {r.rss_before_mib:.0f} MiB"
    )
    print("  scrape   status   seconds   page MiB   bucket series   UHub series   RSS MiB")
    for n, s in enumerate(r.scrapes, 1):
        print(
            f"  {n:>6} {s.status:>8} {s.seconds:>9.2f} {s.size / 2**20:>10.1f} "
            f"{s.bucket_series:>15} {s.uhub_series:>13} {s.rss_mib:>9.0f}"
        )


def report_reload_storm(r: ReloadStormResult) -> None:
    """Print the reload storm's figures."""
    print(
        f"reload storm: {r.posts} POST /-/reload from 4 clients and {r.sighups} SIGHUPs of an "
        f"unchanged config in {r.seconds:.1f} s, scraping meanwhile"
    )
    print(f"  answers {dict(sorted(r.statuses.items()))}; upstream calls {r.upstream_calls}")
    times = [o.seconds for o in r.scrapes]
    print(
        f"  legitimate scrapes {len(r.scrapes)}, complete "
        f"{sum(o.complete for o in r.scrapes)}; {figures(times)}"
    )
    print("  exporter     threads   open fds   RSS MiB")
    for label, s in (
        ("before", r.before),
        ("peak", r.peak),
        ("after", r.after),
        ("settled", r.settled),
    ):
        if s is not None:
            print(f"  {label:<10} {s.threads:>9} {s.fds:>10} {s.rss_kib / 1024:>9.1f}")


def report_credentials(r: CredentialsResult) -> None:
    """Print the credentials run's figures."""
    print(
        f"credentials: keys of {r.lifetime:g} s (instance role, and AssumeRole on it), scrapes "
        f"every {r.every:g} s for {r.seconds:g} s ({r.lifetimes:.1f} lifetimes)"
    )
    print(
        f"  scrapes {r.scrapes}, failed {len(r.failed)}; metadata calls {r.metadata_calls}, "
        f"AssumeRole calls {r.assume_role_calls}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Make the runs asked for, print figures and broken invariants; return the exit status."""
    args = parse_args(argv)
    print(
        f"{datetime.datetime.now().isoformat(timespec='seconds')}  python "
        f"{platform.python_version()}  {os.cpu_count()} CPUs  {platform.machine()}"
    )
    runs: dict[str, Callable[[Path], Any]] = {
        "load": lambda work: load_run(
            work, scrapers=args.scrapers, seconds=args.seconds, latency=args.latency
        ),
        "soak": lambda work: soak_run(
            work, scrapes=args.soak_scrapes, batch=max(25, args.soak_scrapes // 20)
        ),
        "slowloris": lambda work: slowloris_run(
            work,
            idle=args.idle,
            slow=args.slow,
            drip=args.drip,
            header_timeout=args.header_timeout,
            buckets=200 if args.quick else 1000,
            scrape_every=0.3 if args.quick else 0.5,
        ),
        "burst": lambda work: burst_run(work, threads=args.burst_threads, per_thread=10),
        "stalled": lambda work: stalled_run(work, clients=args.stalled),
        "uhub": lambda work: uhub_run(work, images=args.uhub_images),
        "reload": lambda work: reload_storm_run(work, posts=args.reload_posts),
        "credentials": lambda work: credentials_run(
            work, lifetime=args.key_lifetime, seconds=args.key_seconds
        ),
    }
    reports: dict[str, Callable[[Any], None]] = {
        "load": report_load,
        "soak": report_soak,
        "slowloris": lambda r: report_slowloris(r, args.drip),
        "burst": report_burst,
        "stalled": report_stalled,
        "uhub": report_uhub,
        "reload": report_reload_storm,
        "credentials": report_credentials,
    }
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="loadtest-") as tmp:
        for name in (r for r in RUNS if r in args.runs):
            result = runs[name](Path(tmp) / name)
            reports[name](result)
            problems += result.problems()
    for problem in problems:
        print(f"PROBLEM: {problem}")
    print("OK" if not problems else f"{len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
