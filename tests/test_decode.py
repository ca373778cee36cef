"""The gateway's JSON is read through orjson only where that gives exactly ``json.loads``."""

from __future__ import annotations

import json

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from exporter.ucloud._client import loads
from tests.support.inprocess import FUZZ, json_values

# Everything orjson reads differently from json, or refuses while json accepts or refuses.
ODD_BODIES = [
    b'{"ImageCount": 123456789012345678901234567890}',  # beyond 64 bits: orjson gives a float
    b'{"ImageCount": -9223372036854775809}',  # below int64: a float in orjson
    b'{"ImageCount": 18446744073709551616}',
    b'{"BucketName": "\\ud800"}',  # a lone surrogate escape
    b'{"CreateTime": NaN, "ImageCount": Infinity}',
    b'{"ImageCount": 1e400}',
    b'\xef\xbb\xbf{"RetCode": 0}',  # a byte order mark
    '{"BucketName": "\u00e9"}'.encode("utf-16"),
    b'{"a": 1, "a": 2}',
    b'{"TotalCount": 1.5e3, "Big": 12345678901234567890.5}',
    b" [1, 2.0, -0, -0.0, 1E2] ",
    b"[" * 700 + b"]" * 700,  # deep, read by orjson
    b"[" * 850 + b"]" * 850,  # deeper than orjson is trusted with, still within json's limit
]
BAD_BODIES = [b"", b"{", b'{"a": "\xff"}', b"[" * 5000 + b"]" * 5000, b"{} x"]


def same(raw: bytes | bytearray) -> None:
    """``loads`` gives json's value with json's types (repr tells 1 from 1.0), or its error."""
    try:
        want = repr(json.loads(raw))
    except (ValueError, RecursionError) as exc:
        with pytest.raises(type(exc)) as got:
            loads(raw)
        assert str(got.value) == str(exc)
        return
    assert repr(loads(raw)) == want
    assert repr(loads(bytearray(raw))) == want


@pytest.mark.parametrize("raw", ODD_BODIES + BAD_BODIES)
def test_odd_bodies_read_as_json_reads_them(raw: bytes) -> None:
    same(raw)


@FUZZ
@given(value=json_values, wide=st.integers(min_value=-(2**70), max_value=2**70))
@example(value={"ImageCount": 2**63 - 1}, wide=2**64 - 1)
@example(value={"ImageCount": -(2**63)}, wide=-(2**63) - 1)
def test_any_json_reads_as_json_reads_it(value: object, wide: int) -> None:
    for ascii_only in (True, False):
        same(json.dumps([value, wide], ensure_ascii=ascii_only).encode("utf-8", "surrogatepass"))
