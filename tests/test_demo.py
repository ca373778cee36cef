"""What the demo tells a newcomer at start."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from exporter import config
from exporter.demo import banner
from exporter.simulator import DEMO_ACCOUNTS, DEMO_PROJECT


@pytest.mark.parametrize("host", ["", "0.0.0.0", "::"])
def test_the_demo_says_where_to_look_and_that_it_listens_everywhere(host):
    text = banner(
        api_url="http://127.0.0.1:4242/", scheme="http", host=host, port=9787, path="/metrics"
    )
    assert "Open http://localhost:9787/ in a browser" in text
    assert "http://localhost:9787/metrics" in text
    assert "Listening on all interfaces" in text and "127.0.0.1:9787 keeps it local" in text


def test_no_all_interfaces_hint_on_loopback():
    text = banner(
        api_url="http://127.0.0.1:4242/", scheme="https", host="127.0.0.1", port=1, path="/m"
    )
    assert "Open https://localhost:1/ in a browser" in text and "all interfaces" not in text


def test_the_readme_simulator_config_lists_the_demo_fleet():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- simulator-config:begin -->\n```yaml\n", 1)[1].split("```", 1)[0]
    cfg = config.parse(yaml.safe_load(block), env={})
    assert cfg.ucloud.base_url == "http://127.0.0.1:8000/"
    assert [
        (a.name, a.public_key, a.private_key.reveal(), a.project_id, a.regions)
        for a in cfg.accounts
    ] == [
        (name, public, private, DEMO_PROJECT, regions)
        for name, public, private, regions in DEMO_ACCOUNTS
    ]
    assert len({r for a in cfg.accounts for r in a.regions}) == 5  # "five distinct regions"
    assert sum(len(a.regions) for a in cfg.accounts) == 6  # "six targets"
