"""Command line: parse flags, load config, serve until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import logging
import platform
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import NoReturn

from exporter import __version__, config, logs
from exporter.runtime import Runtime
from exporter.web import webconfig
from exporter.web.app import App
from exporter.web.server import Limits, parse_listen_address, serve
from exporter.web.watch import LiveWebConfig

log = logging.getLogger("exporter")


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose error stays one line whatever the arguments contain."""

    def error(self, message: str) -> NoReturn:
        """Print usage and a one-line error, exit 2."""
        super().error(message.replace("\r", "\\r").replace("\n", "\\n"))


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with exporter-toolkit style flags."""
    p = _Parser(
        prog="ucloud-image-exporter",
        description="Prometheus exporter for UCloud image buckets (GetImageBucketList).")
    p.add_argument("--config.file", dest="config_file", default="config.yaml", metavar="PATH",
                   help="YAML configuration file (default: %(default)s)")
    p.add_argument("--config.check", dest="config_check", action="store_true",
                   help="validate the configuration file and exit")
    p.add_argument("--web.listen-address", dest="listen_address", default=":9787",
                   metavar="HOST:PORT", help="address to listen on (default: %(default)s)")
    p.add_argument("--web.config.file", dest="web_config_file", default="", metavar="PATH",
                   help="web configuration (exporter-toolkit format: tls_server_config, "
                        "basic_auth_users); re-read when it or its files change, on SIGHUP "
                        "and on /-/reload")
    defaults = Limits()
    p.add_argument("--web.max-connections", dest="max_connections", type=int,
                   default=defaults.max_connections, metavar="N",
                   help="open connections at most; at the cap a new connection closes the "
                        "oldest one without a running request (default: %(default)s)")
    p.add_argument("--web.max-requests", dest="max_requests", type=int,
                   default=defaults.max_requests, metavar="N",
                   help="requests served at once; more get 503 with Retry-After at once "
                        "(default: %(default)s)")
    p.add_argument("--web.read-header-timeout", dest="read_header_timeout", type=float,
                   default=defaults.read_header_timeout, metavar="SECONDS",
                   help="a connection must send a complete request head within this long "
                        "of connecting or of its previous answer (default: %(default)s)")
    p.add_argument("--web.read-timeout", dest="read_timeout", type=float,
                   default=defaults.read_timeout, metavar="SECONDS",
                   help="a request body must arrive whole within this long after the head "
                        "(default: %(default)s)")
    p.add_argument("--web.telemetry-path", dest="telemetry_path", default="/metrics",
                   metavar="PATH", help="path under which to expose metrics "
                                        "(default: %(default)s)")
    p.add_argument("--web.timeout-offset", dest="timeout_offset", type=float, default=0.5,
                   metavar="SECONDS", help="subtracted from Prometheus's scrape timeout to "
                                           "leave time to answer (default: %(default)s)")
    p.add_argument("--web.enable-lifecycle", dest="enable_lifecycle", action="store_true",
                   help="enable POST /-/reload (SIGHUP always reloads)")
    p.add_argument("--log.level", dest="log_level", choices=tuple(logs.LEVELS), default="info",
                   help="log level (default: %(default)s)")
    p.add_argument("--log.format", dest="log_format", choices=("logfmt", "json"),
                   default="logfmt", help="log format (default: %(default)s)")
    p.add_argument("--demo", action="store_true",
                   help="run against an embedded simulated UCloud API; no config or credentials")
    p.add_argument("--version", action="version",
                   version=f"ucloud-image-exporter {__version__} "
                           f"(python {platform.python_version()})")
    return p


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse and cross-check flags; exit 2 with an argparse error when they are wrong."""
    parser = build_parser()
    args = parser.parse_args(argv)
    path = args.telemetry_path
    if not path.startswith("/") or path in ("/", "/probe") or path.startswith("/-/"):
        parser.error(f"argument --web.telemetry-path: must start with / and not be /, /probe "
                     f"or under /-/, got {path!r}")
    for flag, value in (("max-connections", args.max_connections),
                        ("max-requests", args.max_requests),
                        ("read-header-timeout", args.read_header_timeout),
                        ("read-timeout", args.read_timeout)):
        if not value > 0:
            parser.error(f"argument --web.{flag}: must be > 0, got {value}")
    if not args.timeout_offset >= 0:
        parser.error(f"argument --web.timeout-offset: must be >= 0, got {args.timeout_offset}")
    try:
        parse_listen_address(args.listen_address)
    except ValueError as exc:
        parser.error(f"argument --web.listen-address: {exc}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the exporter; return the process exit code."""
    args = parse_args(argv)
    logs.setup(args.log_level, args.log_format)
    security, problems = _load_web_security(args.web_config_file)
    simulator = None
    if args.demo:
        from exporter import demo

        simulator = demo.start_simulator()
        url = simulator.url
        cfg = demo.demo_config(url)
        load: Callable[[], config.Config] = lambda: demo.demo_config(url)  # noqa: E731
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
        print(f"{args.config_file}: OK ({len(cfg.accounts)} accounts, "
              f"{_describe_targets(cfg)})")
        if security is not None:
            print(f"{args.web_config_file}: OK ({security.describe()})")
        return 0
    for warning in security.warnings if security is not None else ():
        log.warning("%s", warning)
    runtime = Runtime(load, initial=cfg)
    web = LiveWebConfig(args.web_config_file, security)
    limits = Limits(max_connections=args.max_connections, max_requests=args.max_requests,
                    read_header_timeout=args.read_header_timeout,
                    read_timeout=args.read_timeout)
    try:
        server = serve(App(runtime, telemetry_path=args.telemetry_path,
                           timeout_offset=args.timeout_offset,
                           enable_lifecycle=args.enable_lifecycle, reload_web=web.reload),
                       args.listen_address, web, limits=limits)
    except OSError as exc:
        log.error("cannot listen on %s: %s", args.listen_address, exc.strerror or exc)
        runtime.close()
        return 1
    port = server.server_port
    log.info("listening", extra={"address": args.listen_address, "port": port,
                                 "path": args.telemetry_path})
    if simulator is not None:
        from exporter import demo

        print(demo.banner(api_url=simulator.url,
                          scheme="https" if security is not None and security.tls else "http",
                          host=parse_listen_address(args.listen_address)[0], port=port,
                          path=args.telemetry_path), flush=True)
    web.watch()
    _serve_until_stopped(lambda: (runtime.reload(), web.reload()))
    log.info("shutting down")
    web.close()
    server.shutdown()
    server.server_close()
    runtime.close()
    if simulator is not None:
        simulator.stop()
    return 0


def _load_web_security(path: str) -> tuple[webconfig.WebSecurity | None, list[str]]:
    """Load ``--web.config.file`` if given; return it and its problems (one per line)."""
    if not path:
        return None, []
    try:
        return webconfig.load(path), []
    except config.ConfigError as exc:
        return None, exc.problems


def _describe_targets(cfg: config.Config) -> str:
    fixed = sum(len(a.regions) for a in cfg.accounts)
    auto = sum(a.discover_regions for a in cfg.accounts)
    return f"{fixed} targets" + (f", {auto} accounts with discovered regions" if auto else "")


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
        while pending:
            if pending.pop(0) != signal.SIGHUP:
                return
            log.info("SIGHUP: reloading configuration")
            reload()
