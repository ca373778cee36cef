"""The exporter keeps glibc's mmap threshold fixed, unless the environment sets it."""

from __future__ import annotations

import platform

import pytest

from exporter import cli


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's mallopt only")
def test_the_threshold_is_set_on_glibc(monkeypatch):
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    assert cli.fix_mmap_threshold() is True


def test_an_operators_setting_wins(monkeypatch):
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "65536")
    assert cli.fix_mmap_threshold() is False
