"""Request headers as RFC 9110 reads them (exporter/web/headers.py)."""

from __future__ import annotations

import pytest

from exporter.web.headers import DuplicateHeader, gzip_wanted, normalized


@pytest.mark.parametrize(
    ("header", "wanted"),
    [
        ("gzip", True),
        ("GZIP;q=0.5", True),
        ("gzip, deflate, br", True),
        ("identity", False),
        ("", False),
        ("gzip;q=0, identity", False),
        ("gzip ; q=0.000", False),
        ("gzip;q=nan", False),
        ("gzip;q=2", False),
        ("*", True),
        ("*;q=0", False),
        ("gzip;q=0, *", False),  # named explicitly: the star does not bring it back
        ("identity, *;q=0.1", True),
        ("x-gzip", True),
        ("gzip, ", True),
    ],
)
def test_gzip_is_wanted_only_with_a_quality_above_zero(header: str, wanted: bool) -> None:
    assert gzip_wanted(header) is wanted


def test_list_valued_headers_are_joined_in_order() -> None:
    headers = [
        (b"accept-encoding", b"gzip"),
        (b"accept", b"text/plain"),
        (b"accept-encoding", b" identity "),
        (b"accept-encoding", b""),
        (b"user-agent", b"a"),
        (b"user-agent", b"b"),
    ]
    assert normalized(headers) == [
        (b"accept-encoding", b"gzip, identity"),
        (b"accept", b"text/plain"),
        (b"user-agent", b"a"),
        (b"user-agent", b"b"),
    ]


@pytest.mark.parametrize(
    "name", [b"authorization", b"host", b"content-length", b"x-prometheus-scrape-timeout-seconds"]
)
def test_a_repeated_single_valued_header_is_refused(name: bytes) -> None:
    with pytest.raises(DuplicateHeader, match="duplicate"):
        normalized([(name, b"1"), (b"accept", b"*/*"), (name, b"1")])
