"""UHub's undocumented time strings: every accepted form, and anything else is None."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exporter.ucloud import parse_time
from exporter.ucloud._times import ASSUMED_ZONE
from tests.support.inprocess import FUZZ

# Whole seconds from 1970 to 9999 (what a registry can hold).
instants = st.integers(min_value=0, max_value=253402300799 - 14 * 3600)
zones = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)


@FUZZ
@given(instants)
def test_unix_seconds_as_number_and_string(t):
    assert parse_time(t) == t
    assert parse_time(str(t)) == t
    assert parse_time(float(t)) == t
    assert parse_time(f"{t}.999") == t


@FUZZ
@given(instants, zones, st.sampled_from(["T", "t", " "]))
def test_rfc3339_in_any_zone(t, zone, sep):
    local = datetime.fromtimestamp(t, zone)
    text = local.strftime(f"%Y-%m-%d{sep}%H:%M:%S") + local.strftime("%z")[:3] + ":"
    text += local.strftime("%z")[3:]
    assert parse_time(text) == t
    if zone.utcoffset(None) == timedelta(0):
        assert parse_time(local.strftime("%Y-%m-%dT%H:%M:%SZ")) == t


@FUZZ
@given(instants.filter(lambda t: t >= 8 * 3600))
def test_a_time_without_zone_is_china_standard_time(t):
    text = datetime.fromtimestamp(t, ASSUMED_ZONE).strftime("%Y-%m-%d %H:%M:%S")
    assert parse_time(text) == t


@FUZZ
@given(st.one_of(st.text(max_size=40), st.binary(max_size=20), st.floats(), st.integers(),
                 st.none(), st.booleans(), st.lists(st.integers(), max_size=3)))  # fmt: skip
def test_anything_else_is_none_or_a_valid_instant_never_an_error(value):
    got = parse_time(value)
    assert got is None or (isinstance(got, int) and 0 <= got <= 253402300799)


@pytest.mark.parametrize(
    "junk",
    [
        "",
        "yesterday",
        "2023-11-14",  # a date alone
        "2023-11-14 22:13",  # no seconds
        "2023-13-01 00:00:00",  # month 13
        "2023-02-30 00:00:00",
        "2023-11-14T24:00:00Z",
        "2023-11-14T22:13:20",  # RFC 3339 needs a zone; the T form without one is not ours
        "2023-11-14T22:13:20+25:00",
        "1e9",
        "-5",
        "0x10",
        "\uff11\uff17" + "\uff10" * 8,  # full-width digits
        "1969-12-31T23:59:59Z",  # before 1970
        True,
        -1,
        float("nan"),
        float("inf"),
        [1],
    ],
)
def test_junk_is_none(junk):
    assert parse_time(junk) is None


def test_the_documented_examples():
    assert parse_time("2023-11-15 06:13:20") == 1_700_000_000
    assert parse_time("2023-11-14T22:13:20Z") == 1_700_000_000
    assert parse_time(datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC).isoformat()) == 1_700_000_000
