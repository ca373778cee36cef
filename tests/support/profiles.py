"""A HOME with ``~/.ucloud/credential.json`` and ``config.json`` as ucloud-cli writes them.

The shape is ucloud-sdk-go's ``external/test-fixtures/{credential,config}.json``: each file is a
JSON list with one object per profile (``profile`` names it; ``active`` marks ucloud-cli's
current one in the config file).
"""

from __future__ import annotations

import json
from pathlib import Path

PROFILE_PUBLIC_KEY = "profile-public-key"
PROFILE_SECRET = "profile-PRIVATE-do-not-leak-5be2"
PROFILE_PROJECT = "org-profile"


def write_ucloud_home(
    home: Path,
    *,
    public_key: str = PROFILE_PUBLIC_KEY,
    private_key: str = PROFILE_SECRET,
    project_id: str = PROFILE_PROJECT,
    region: str = "cn-bj2",
    base_url: str = "https://api.ucloud.cn",
) -> tuple[Path, Path]:
    """Write the two files under ``home/.ucloud/``: profile ``default`` with the given values,
    and an active profile ``ucloud`` with other ones. Return (credential file, config file)."""
    folder = home / ".ucloud"
    folder.mkdir(parents=True, exist_ok=True)
    credential, cfg = folder / "credential.json", folder / "config.json"
    credential.write_text(
        json.dumps(
            [
                {"public_key": public_key, "private_key": private_key, "profile": "default"},
                {"public_key": "other-public", "private_key": "other-private", "profile": "ucloud"},
            ],
            indent=4,
        )
    )
    cfg.write_text(
        json.dumps(
            [
                {
                    "project_id": project_id,
                    "region": region,
                    "zone": f"{region}-02",
                    "base_url": base_url,
                    "timeout_sec": 15,
                    "profile": "default",
                    "active": False,
                },
                {
                    "project_id": "org-other",
                    "region": "cn-sh2",
                    "zone": "cn-sh2-02",
                    "base_url": "https://api.ucloud.cn",
                    "timeout_sec": 30,
                    "profile": "ucloud",
                    "active": True,
                },
            ],
            indent=4,
        )
    )
    return credential, cfg
