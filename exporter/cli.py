"""Command line: flags (exporter.flags), load config, serve until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import ctypes
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence

from exporter import config, logs
from exporter.flags import parse_args
from exporter.loops import loop_kind
from exporter.runtime import Runtime
from exporter.web import webconfig
from exporter.web.app import App
from exporter.web.server import Limits, Server, parse_listen_address, serve
from exporter.web.watch import LiveWebConfig

log = logging.getLogger("exporter")
M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
MMAP_THRESHOLD = 128 * 1024  # glibc's initial value, kept


def main(argv: Sequence[str] | None = None) -> int:
    """Run the exporter; return the process exit code."""
    args = parse_args(argv)
    logs.setup(args.log_level, args.log_format)
    fix_mmap_threshold()
    security, problems = _load_web_security(args.web_config_file)
    simulator = None
    if args.demo:
        from exporter import demo

        simulator = demo.start_simulator()
        cfg = simulator.config()
        load: Callable[[], config.Config] = simulator.config
    else:
        load = lambda: config.load(args.config_file)  # noqa: E731
        try:
            cfg = load()
        except config.ConfigError as exc:
            problems = exc.problems + problems
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        if simulator is not None:
            simulator.stop()
        return 1
    if args.config_check:
        _print_check(args, cfg, security)
        return 0
    for warning in security.warnings if security is not None else ():
        log.warning("%s", warning)
    runtime = Runtime(load, initial=cfg, loop=args.event_loop, http=args.transport)
    web = LiveWebConfig(args.web_config_file, security)
    app, limits = _web_face(args, runtime, web)
    try:
        server = serve(app, args.listen_address, web, limits=limits)
    except OSError as exc:
        log.error("cannot listen on %s: %s", args.listen_address, exc.strerror or exc)
        app.close()
        runtime.close()
        return 1
    port = server.server_port
    log.info(
        "listening",
        extra={
            "address": args.listen_address,
            "port": port,
            "path": args.telemetry_path,
            "event_loop": loop_kind(args.event_loop),
        },
    )
    if simulator is not None:
        from exporter import demo

        print(
            demo.banner(
                api_url=simulator.url,
                scheme="https" if security is not None and security.tls else "http",
                host=parse_listen_address(args.listen_address)[0],
                port=port,
                path=args.telemetry_path,
            ),
            flush=True,
        )
    web.watch()
    _serve_until_stopped(lambda: (runtime.reload(), web.reload()))
    log.info("shutting down")
    web.close()
    _stop(server, app, runtime)
    if simulator is not None:
        simulator.stop()
    return 0


def _stop(server: Server, app: App, runtime: Runtime) -> None:
    """Stop serving (running answers get a grace period), then the render threads, the engine."""
    server.shutdown()
    server.server_close()
    app.close()
    runtime.close()


def _web_face(args: argparse.Namespace, runtime: Runtime, web: LiveWebConfig) -> tuple[App, Limits]:
    """Return the app and the server's limits the flags ask for."""
    limits = Limits(
        max_connections=args.max_connections,
        max_requests=args.max_requests,
        read_header_timeout=args.read_header_timeout,
        read_timeout=args.read_timeout,
        write_timeout=args.write_timeout,
    )
    app = App(
        runtime,
        telemetry_path=args.telemetry_path,
        timeout_offset=args.timeout_offset,
        enable_lifecycle=args.enable_lifecycle,
        reload_web=web.reload,
        max_requests=limits.max_requests,
        write_timeout=limits.write_timeout,
    )
    return app, limits


def fix_mmap_threshold() -> bool:
    """Keep glibc's mmap threshold at 128 KiB, so big freed blocks go back to the system.

    glibc raises the threshold to the size of each mmap'd block freed (up to 32 MiB); after the
    first answers, an answer's chunks (0.25-1 MiB) come from the heap instead and stay resident
    once sent: at 1,000,000 buckets an uncompressed answer left 386 MiB against 194 MiB steady
    (docs/benchmarks.md, compact). Setting the threshold, as ``MALLOC_MMAP_THRESHOLD_`` would,
    turns the adjustment off. Return whether it was set (not off glibc, nor over that variable).
    """
    if "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))


def _load_web_security(path: str) -> tuple[webconfig.WebSecurity | None, list[str]]:
    """Load ``--web.config.file`` if given; return it and its problems (one per line)."""
    if not path:
        return None, []
    try:
        return webconfig.load(path), []
    except config.ConfigError as exc:
        return None, exc.problems


def _print_check(
    args: argparse.Namespace, cfg: config.Config, security: webconfig.WebSecurity | None
) -> None:
    """Print what --config.check found valid, and each account's credential source."""
    print(f"{args.config_file}: OK ({len(cfg.accounts)} accounts, {_describe_targets(cfg)})")
    for account in cfg.accounts:  # where each account's keys come from, never the keys
        print(f"  {account.name}: {account.credential_source}; {_scope(account)}")
    if security is not None:
        print(f"{args.web_config_file}: OK ({security.describe()})")


def _scope(account: config.Account) -> str:
    """Say which projects and regions an account lists, without asking the API."""
    projects = (
        "projects: auto (GetProjectList)"
        if account.discover_projects
        else f"projects: {', '.join(account.projects)}"
        if account.projects
        else "project: the key's default"
    )
    regions = "auto (GetRegion)" if account.discover_regions else ", ".join(account.regions)
    sources = [
        name
        for name, on in (
            ("UHub", account.uhub),
            ("images inside buckets", account.docker_images),
            ("custom host images", account.host_images),
        )
        if on
    ]
    return f"{projects}; regions: {regions}" + (f"; also {', '.join(sources)}" if sources else "")


def _describe_targets(cfg: config.Config) -> str:
    fixed = sum(
        len(a.regions) * max(1, len(a.projects))
        for a in cfg.accounts
        if not (a.discover_regions or a.discover_projects)
    )
    auto = sum(a.discover_regions or a.discover_projects for a in cfg.accounts)
    uhub = sum(a.uhub for a in cfg.accounts)
    return (
        f"{fixed} targets"
        + (f", {auto} accounts with discovered projects or regions" if auto else "")
        + (f", {uhub} with UHub (tag_counts {cfg.uhub.tag_counts})" if uhub else "")
    )


def _serve_until_stopped(reload: Callable[[], object]) -> None:
    """Block until SIGTERM or SIGINT; reload the configuration on SIGHUP."""
    wake = threading.Event()
    pending: list[int] = []

    def handle(sig: int, _: object) -> None:
        pending.append(sig)
        wake.set()

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, handle)
    while True:
        wake.wait(1)
        wake.clear()
        signals = [pending.pop(0) for _ in range(len(pending))]
        if any(sig != signal.SIGHUP for sig in signals):
            return
        if signals:  # SIGHUPs that arrived together cost one reload
            log.info("SIGHUP: reloading configuration")
            reload()
