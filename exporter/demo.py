"""Demo mode: the embedded simulator with a believable fleet, and a config pointing at it.

The two demo accounts show two credential sources: ``main`` is read from a ucloud-cli profile
(``credential.json`` and ``config.json``, written to a private temporary folder and read by the
same code as a user's ``~/.ucloud``), ``staging`` from an instance role of the simulated
metadata service, whose keys live ``KEY_LIFETIME_SECONDS`` and are refreshed while it runs.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from exporter import config
from exporter.config import Config
from exporter.simulator import DEMO_ACCOUNTS, DEMO_PROJECT, STS, Simulator, demo_fleet

#: How long the simulated metadata service's keys live in the demo (refreshed at 80 %).
KEY_LIFETIME_SECONDS = 120.0
PROFILE = "demo"
INSTANCE_ROLE = "demo-staging"


class Demo:
    """The demo's simulator (with its STS) and the private folder of its profile files."""

    def __init__(self, *, key_lifetime: float = KEY_LIFETIME_SECONDS) -> None:
        """Start the simulated UCloud API on a free loopback port, image counts drifting."""
        fleet = demo_fleet()
        (_, main_public, main_private, _), (_, staging_public, _, _) = DEMO_ACCOUNTS
        self.sts = STS(fleet, roles={INSTANCE_ROLE: staging_public}, lifetime=key_lifetime)
        self.simulator = Simulator(fleet, drift=True, sts=self.sts).start()
        self.home = Path(tempfile.mkdtemp(prefix="ucloud-image-exporter-demo-"))  # mode 0700
        self._write(
            self.home / "credential.json",
            [{"profile": PROFILE, "public_key": main_public, "private_key": main_private}],
        )
        self._write(self.home / "config.json",
                    [{"profile": PROFILE, "project_id": DEMO_PROJECT, "active": True}])  # fmt: skip

    @staticmethod
    def _write(path: Path, data: object) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f)

    @property
    def url(self) -> str:
        """Return the simulated gateway's base URL."""
        return self.simulator.url

    def config(self) -> Config:
        """Return a config that lists every demo account and region at the simulator."""
        (main, _, _, _), (staging, _, _, staging_regions) = DEMO_ACCOUNTS
        raw = {
            "ucloud": {
                "base_url": self.url,
                "metadata_url": self.url.rstrip("/"),
                "page_size": 50,
            },
            "accounts": [
                # the demo fleet's one account with a registry, and with three projects: every
                # project and region it has is discovered; its buckets' images and its custom
                # host images (one region near its quota, one image's OS near end of life)
                {"name": main, "profile": PROFILE, "project_id": "auto", "regions": "auto",
                 "uhub": True, "docker_images": True, "host_images": True},
                {"name": staging, "instance_role": INSTANCE_ROLE, "project_id": DEMO_PROJECT,
                 "regions": list(staging_regions), "host_images": True},
            ],
        }  # fmt: skip
        env = {
            "HOME": str(self.home),
            "UCLOUD_SHARED_CREDENTIAL_FILE": str(self.home / "credential.json"),
            "UCLOUD_SHARED_CONFIG_FILE": str(self.home / "config.json"),
        }
        return config.parse(raw, source="demo", env=env, base_dir=self.home)

    def stop(self) -> None:
        """Stop the simulator and remove the profile files."""
        self.simulator.stop()
        shutil.rmtree(self.home, ignore_errors=True)


def start_simulator() -> Demo:
    """Start the demo: its simulator and profile files (``Demo.config`` is its config)."""
    return Demo()


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
