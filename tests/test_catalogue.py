"""The metric catalogue (exporter.metrics) against what the exporter really exposes and says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from exporter.metrics import BY_NAME, CATALOGUE, markdown_table
from tests.support.procs import config_for, golden_account

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = re.compile(r"^(process|python)_")  # prometheus_client's own collectors
Exposed = dict[str, tuple[str, str, set[str]]]


@pytest.fixture
def exposed(simulator, start_exporter) -> Exposed:
    """Scrape a real exporter (listed, discovered and failing accounts); return each family's
    name -> (type, help, label names)."""
    accounts = [
        golden_account(),
        golden_account(name="auto", regions="auto"),
        golden_account(name="wrongkey", private_key="not-the-key", regions=["hk"]),
    ]
    exp = start_exporter(config_for(simulator.url, accounts))
    out = {}
    for family in text_string_to_metric_families(exp.get("/metrics").text):
        name = family.name + ("_total" if family.type == "counter" else "")
        labels = {k for s in family.samples for k in s.labels}
        out[name] = (family.type, family.documentation, labels)
    return out


@pytest.mark.e2e
def test_the_exposition_holds_exactly_the_catalogue(exposed: Exposed):
    ours = {name for name in exposed if not LIBRARY.match(name)}
    assert ours - set(BY_NAME) == set(), "exposed but not in exporter/metrics.py"
    assert set(BY_NAME) - ours == set(), "in exporter/metrics.py but never exposed"


@pytest.mark.e2e
def test_types_help_and_labels_match_the_catalogue(exposed: Exposed):
    for name, (kind, documentation, labels) in exposed.items():
        if LIBRARY.match(name):
            continue
        entry = BY_NAME[name]
        assert (kind, documentation) == (entry.type, entry.help), name
        assert not labels or labels == set(entry.labels), name  # no samples: no labels


def test_names_follow_the_conventions():
    for entry in CATALOGUE:
        assert entry.name.startswith(("ucloud_image_bucket", "ucloud_uhub_", "ucloud_uhost_")), (
            entry.name
        )
        assert entry.name.endswith("_total") == (entry.type == "counter"), entry.name
        if entry.unit:
            assert entry.name.removesuffix("_total").endswith(f"_{entry.unit}"), entry.name
        assert entry.help.endswith(".") and "\n" not in entry.help, entry.name
    assert len(BY_NAME) == len(CATALOGUE)


def test_the_readme_table_is_the_catalogue():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("<!-- metrics:begin -->\n", 1)[1].split("<!-- metrics:end -->", 1)[0]
    assert table == markdown_table(), (
        "README.md's metrics table differs from exporter/metrics.py; paste the output of "
        "python -c 'from exporter.metrics import markdown_table; print(markdown_table())'"
    )
