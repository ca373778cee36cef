"""Run the simulated gateway: ``python -m exporter.simulator --fleet demo``."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from exporter.simulator.fleet import demo_fleet, golden_fleet, project_fleet, synthetic_fleet
from exporter.simulator.fleetfile import load_fleet
from exporter.simulator.model import Fleet
from exporter.simulator.server import Simulator
from exporter.simulator.sts import STS

_SYNTHETIC_KEYS = ("bench-public-key", "bench-private-key")


def _parser() -> argparse.ArgumentParser:
    """Describe the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m exporter.simulator", description="Simulated UCloud API gateway."
    )
    parser.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT (default %(default)s)")
    parser.add_argument(
        "--fleet", choices=("demo", "golden", "synthetic", "projects"), default="demo"
    )
    parser.add_argument(
        "--fleet-file",
        metavar="PATH",
        help="serve the fleet (and its quirks) of this YAML file instead",
    )
    parser.add_argument("--regions", type=int, default=4, help="synthetic, projects: regions")
    parser.add_argument(
        "--buckets",
        type=int,
        default=1000,
        help="synthetic: per region; projects: per occupied pair",
    )
    parser.add_argument("--projects", type=int, default=20, help="projects: number of projects")
    parser.add_argument(
        "--occupied", type=int, default=50, help="projects: (project, region) pairs with buckets"
    )
    parser.add_argument("--seed", type=int, default=42, help="fleet and drift seed")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds to each answer")
    parser.add_argument("--limit-clamp", type=int, default=None, help="cap on any page size")
    parser.add_argument("--drift", action="store_true", help="let image counts drift")
    parser.add_argument("--log-level", default="WARNING", help="e.g. DEBUG to log requests")
    parser.add_argument(
        "--instance-role",
        action="append",
        default=[],
        metavar="NAME=PUBLIC_KEY",
        help="metadata STS: role NAME (empty: the default role) acts for this account; repeat",
    )
    parser.add_argument(
        "--role-urn",
        action="append",
        default=[],
        metavar="URN=PUBLIC_KEY",
        help="AssumeRole: this RoleUrn acts for this account; repeat",
    )
    parser.add_argument(
        "--key-lifetime", type=float, default=3600.0, help="temporary keys' lifetime, seconds"
    )
    parser.add_argument(
        "--metadata-v1-only", action="store_true", help="metadata STS: v2 answers 404"
    )
    return parser


def _split_listen(value: str) -> tuple[str, int]:
    """Split ``HOST:PORT`` (IPv6 hosts in brackets) into its parts."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"expected HOST:PORT, got {value!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def _build_fleet(args: argparse.Namespace) -> Fleet:
    """Create the fleet the command line asks for."""
    if args.fleet_file:
        return load_fleet(args.fleet_file)
    if args.fleet == "golden":
        return golden_fleet()
    if args.fleet == "projects":
        public_key, private_key = _SYNTHETIC_KEYS
        return project_fleet(
            projects=args.projects,
            regions=args.regions,
            occupied=args.occupied,
            buckets_per_target=args.buckets,
            public_key=public_key,
            private_key=private_key,
            seed=args.seed,
        )
    if args.fleet == "synthetic":
        public_key, private_key = _SYNTHETIC_KEYS
        return synthetic_fleet(
            regions=args.regions,
            buckets_per_region=args.buckets,
            public_key=public_key,
            private_key=private_key,
            seed=args.seed,
        )
    return demo_fleet(seed=args.seed)


def _pairs(values: list[str], what: str) -> dict[str, str]:
    """Split ``NAME=PUBLIC_KEY`` arguments."""
    pairs = {}
    for value in values:
        name, sep, key = value.partition("=")
        if not sep or not key:
            raise ValueError(f"{what}: expected NAME=PUBLIC_KEY, got {value!r}")
        pairs[name] = key
    return pairs


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until SIGTERM or SIGINT; print the URL first."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        host, port = _split_listen(args.listen)
        fleet = _build_fleet(args)
        sts = STS(
            fleet,
            roles=_pairs(args.instance_role, "--instance-role"),
            role_urns=_pairs(args.role_urn, "--role-urn"),
            lifetime=args.key_lifetime,
            v1_only=args.metadata_v1_only,
        )
    except ValueError as exc:
        parser.error(str(exc))
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr)
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        """Ask the main loop to stop."""
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    simulator = Simulator(
        fleet,
        host=host,
        port=port,
        latency=args.latency,
        limit_clamp=args.limit_clamp,
        drift=args.drift,
        seed=args.seed,
        sts=sts,
    )
    with simulator:
        print(f"listening on {simulator.url}", flush=True)
        if args.fleet in ("synthetic", "projects"):
            print("public-key={} private-key={}".format(*_SYNTHETIC_KEYS), flush=True)
        while not stop.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
