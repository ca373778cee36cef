"""The command line's flags (exporter-toolkit names), checked before anything starts."""

from __future__ import annotations

import argparse
import platform
from collections.abc import Sequence
from typing import NoReturn

from exporter import __version__, logs
from exporter.loops import LOOPS
from exporter.ucloud import TRANSPORTS
from exporter.web.server import Limits, parse_listen_address


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose error stays one line whatever the arguments contain."""

    def error(self, message: str) -> NoReturn:
        """Print usage and a one-line error, exit 2."""
        super().error(message.replace("\r", "\\r").replace("\n", "\\n"))


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with exporter-toolkit style flags."""
    p = _Parser(
        prog="ucloud-image-exporter",
        description="Prometheus exporter for UCloud image buckets (GetImageBucketList).",
    )
    p.add_argument(
        "--config.file",
        dest="config_file",
        default="config.yaml",
        metavar="PATH",
        help="YAML configuration file (default: %(default)s)",
    )
    p.add_argument(
        "--config.check",
        dest="config_check",
        action="store_true",
        help="validate the configuration file and exit",
    )
    p.add_argument(
        "--web.listen-address",
        dest="listen_address",
        default=":9787",
        metavar="HOST:PORT",
        help="address to listen on (default: %(default)s)",
    )
    p.add_argument(
        "--web.config.file",
        dest="web_config_file",
        default="",
        metavar="PATH",
        help="web configuration (exporter-toolkit format: tls_server_config, "
        "basic_auth_users); re-read when it or its files change, on SIGHUP "
        "and on /-/reload",
    )
    defaults = Limits()
    p.add_argument(
        "--web.max-connections",
        dest="max_connections",
        type=int,
        default=defaults.max_connections,
        metavar="N",
        help="open connections at most; at the cap a new connection closes the "
        "oldest one without a running request (default: %(default)s)",
    )
    p.add_argument(
        "--web.max-requests",
        dest="max_requests",
        type=int,
        default=defaults.max_requests,
        metavar="N",
        help="scrapes whose page is being made at once (collection and rendering, not "
        "writing); more get 503 with Retry-After at once (default: %(default)s)",
    )
    p.add_argument(
        "--web.read-header-timeout",
        dest="read_header_timeout",
        type=float,
        default=defaults.read_header_timeout,
        metavar="SECONDS",
        help="a connection must send a complete request head within this long "
        "of connecting or of its previous answer (default: %(default)s)",
    )
    p.add_argument(
        "--web.read-timeout",
        dest="read_timeout",
        type=float,
        default=defaults.read_timeout,
        metavar="SECONDS",
        help="a request body must arrive whole within this long after the head "
        "(default: %(default)s)",
    )
    p.add_argument(
        "--web.write-timeout",
        dest="write_timeout",
        type=float,
        default=defaults.write_timeout,
        metavar="SECONDS",
        help="an answer must be written whole within this long after its request head, "
        "else the connection is closed; scrape timeouts are capped to it "
        "(default: %(default)s)",
    )
    p.add_argument(
        "--web.telemetry-path",
        dest="telemetry_path",
        default="/metrics",
        metavar="PATH",
        help="path under which to expose metrics (default: %(default)s)",
    )
    p.add_argument(
        "--web.timeout-offset",
        dest="timeout_offset",
        type=float,
        default=0.5,
        metavar="SECONDS",
        help="subtracted from Prometheus's scrape timeout to "
        "leave time to answer (default: %(default)s)",
    )
    p.add_argument(
        "--web.enable-lifecycle",
        dest="enable_lifecycle",
        action="store_true",
        help="enable POST /-/reload (SIGHUP always reloads)",
    )
    p.add_argument(
        "--ucloud.transport",
        dest="transport",
        choices=TRANSPORTS,
        default=TRANSPORTS[0],
        help="HTTP transport to the API: aiohttp (httpx-aiohttp) or httpx's own; with a "
        "proxy in the environment (HTTPS_PROXY ...) httpx's own is used (default: %(default)s)",
    )
    p.add_argument(
        "--ucloud.event-loop",
        dest="event_loop",
        choices=LOOPS,
        default=LOOPS[0],
        help="event loop of the API client: auto is uvloop if installed, else asyncio "
        "(default: %(default)s)",
    )
    p.add_argument(
        "--log.level",
        dest="log_level",
        choices=tuple(logs.LEVELS),
        default="info",
        help="log level (default: %(default)s)",
    )
    p.add_argument(
        "--log.format",
        dest="log_format",
        choices=("logfmt", "json"),
        default="logfmt",
        help="log format (default: %(default)s)",
    )
    p.add_argument(
        "--demo",
        action="store_true",
        help="run against an embedded simulated UCloud API; no config or credentials",
    )
    p.add_argument(
        "--version",
        action="version",
        version=f"ucloud-image-exporter {__version__} (python {platform.python_version()})",
    )
    return p


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse and cross-check flags; exit 2 with an argparse error when they are wrong."""
    parser = build_parser()
    args = parser.parse_args(argv)
    path = args.telemetry_path
    if not path.startswith("/") or path in ("/", "/probe") or path.startswith("/-/"):
        parser.error(
            f"argument --web.telemetry-path: must start with / and not be /, /probe "
            f"or under /-/, got {path!r}"
        )
    for flag, value in (
        ("max-connections", args.max_connections),
        ("max-requests", args.max_requests),
        ("read-header-timeout", args.read_header_timeout),
        ("read-timeout", args.read_timeout),
        ("write-timeout", args.write_timeout),
    ):
        if not value > 0:
            parser.error(f"argument --web.{flag}: must be > 0, got {value}")
    if not args.timeout_offset >= 0:
        parser.error(f"argument --web.timeout-offset: must be >= 0, got {args.timeout_offset}")
    try:
        parse_listen_address(args.listen_address)
    except ValueError as exc:
        parser.error(f"argument --web.listen-address: {exc}")
    return args
