"""Demo mode: the embedded simulator with a believable fleet, and a config pointing at it."""

from __future__ import annotations

from exporter.config import Account, CollectSettings, Config, Secret, UCloudSettings
from exporter.simulator import DEMO_ACCOUNTS, DEMO_PROJECT, Simulator, demo_fleet


def start_simulator() -> Simulator:
    """Start the simulated UCloud API on a free loopback port, image counts drifting."""
    return Simulator(demo_fleet(), drift=True).start()


def demo_config(base_url: str) -> Config:
    """Return a config that lists every demo account and region at ``base_url``."""
    accounts = tuple(
        Account(
            name=name,
            public_key=public,
            private_key=Secret(private),
            project_id=DEMO_PROJECT,
            regions=regions,
            uhub=name == DEMO_ACCOUNTS[0][0],  # the demo fleet's one account with a registry
        )
        for name, public, private, regions in DEMO_ACCOUNTS
    )
    return Config(
        ucloud=UCloudSettings(base_url=base_url, page_size=50),
        collect=CollectSettings(),
        accounts=accounts,
    )


def banner(*, api_url: str, scheme: str, host: str, port: int, path: str) -> str:
    """Return what the demo prints at start: where to look, and who else can."""
    lines = [
        f"Demo mode: simulated UCloud API at {api_url}",
        f"Open {scheme}://localhost:{port}/ in a browser "
        f"(metrics: {scheme}://localhost:{port}{path}). Ctrl-C stops.",
    ]
    if host in ("", "0.0.0.0", "::"):
        lines.append(
            f"Listening on all interfaces (port {port}): other machines can reach "
            f"it too; --web.listen-address 127.0.0.1:{port} keeps it local."
        )
    return "\n".join(lines)
