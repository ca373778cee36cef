"""The gateway's JSON is read through orjson only where that gives exactly ``json.loads``."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from exporter.simulator import GOLDEN_PRIVATE_KEY, GOLDEN_PUBLIC_KEY, Account, Fleet, Simulator
from exporter.ucloud import _client
from exporter.ucloud._client import MAX_FAST_DEPTH, loads, nesting_within
from tests.support.faultrig import region
from tests.support.gateway import signed
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
    b"[" * 1000 + b"]" * 1000,  # within orjson's limit (1024), beyond json's
    # As deep, behind closing brackets in a string that a count of brackets would subtract
    b'{"a": "' + b"]" * 1000 + b'", "b": ' + b"[" * 1000 + b"]" * 1000 + b"}",
    b'{"a": "\\\\\\"' + b"]" * 1000 + b'", "b": ' + b"[" * 1000 + b"]" * 1000 + b"}",
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


def depth(value: object) -> int:
    """Return how deep ``value``'s lists and objects nest (a scalar: 0)."""
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    return 0


@FUZZ
@given(value=json_values, odd=st.text(alphabet='[]{}"\\u\u4f4d', max_size=8))
def test_nesting_is_measured_outside_strings(value: object, odd: str) -> None:
    """Brackets, quotes and backslashes in strings (and keys) never count; the depth is exact."""
    value = [value, odd, {odd: [value]}]
    for ascii_only in (True, False):
        raw = json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
        deep = depth(value)
        assert nesting_within(raw, deep)
        assert not nesting_within(raw, deep - 1)


def test_nesting_of_what_is_not_json_is_unsure() -> None:
    """Up to ``limit`` brackets cannot nest deeper; beyond, unbalanced brackets are unsure."""
    assert nesting_within(b"]][[", 2)
    assert not nesting_within(b"[[]" * 3, 2)
    assert not nesting_within(b"]][[" * 3, 2)
    assert not nesting_within(b"[" * 801 + b"]" * 801)
    assert nesting_within(b"[" * 800 + b"]" * 800)


def bucket_page(limit: int = 1000) -> bytes:
    """Return the simulator's first GetImageBucketList page of ``limit`` buckets."""
    account = Account(GOLDEN_PUBLIC_KEY, GOLDEN_PRIVATE_KEY, set(), {"cn-bj2": region("b", 1200)})
    params = {"Action": "GetImageBucketList", "PublicKey": GOLDEN_PUBLIC_KEY}
    params |= {"Region": "cn-bj2", "Limit": str(limit), "Offset": "0"}
    reply = Simulator(Fleet([account])).answer(signed(params, private_key=GOLDEN_PRIVATE_KEY))
    assert reply.status == 200
    return reply.body


def host_image_page(*, ascii_only: bool, quoted: bool) -> bytes:
    """Return a DescribeImage page of 1,000 images with Chinese names, as ``\\uXXXX`` escapes
    or UTF-8, and with escaped quotes in the descriptions when ``quoted``."""
    image = {
        "ImageId": "uimage-x",
        "ImageName": "CentOS 7.9 64位",
        "OsName": "CentOS 7.9 64位",
        "ImageType": "Custom",
        "State": "Available",
        "CreateTime": 1_700_000_000,
        "ImageSize": 40,
        "Features": ["NetEnhanced", "CloudInit"],
        "ImageDescription": 'built by "packer" [ci]' if quoted else "built by packer",
    }
    images = [dict(image, ImageId=f"uimage-{i:05d}") for i in range(1000)]
    body = {"RetCode": 0, "Action": "DescribeImageResponse", "TotalCount": 1000, "ImageSet": images}
    return json.dumps(body, ensure_ascii=ascii_only).encode()


class NotJson:
    """Stands in for the json module: fails the test when the slow path is taken."""

    @staticmethod
    def loads(raw: Any) -> Any:
        raise AssertionError(f"json.loads was called for a body of {len(raw)} bytes")


@pytest.mark.parametrize(
    "raw",
    [
        bucket_page(),
        host_image_page(ascii_only=True, quoted=False),
        host_image_page(ascii_only=False, quoted=False),
        host_image_page(ascii_only=True, quoted=True),
    ],
    ids=["buckets", "host-images-ascii", "host-images-utf8", "host-images-quoted"],
)
def test_a_full_page_takes_the_fast_path(raw: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every 1,000-entry page (more brackets than ``MAX_FAST_DEPTH``) is read by orjson."""
    assert raw.count(b"{") > MAX_FAST_DEPTH
    want = json.loads(raw)
    monkeypatch.setattr(_client, "json", NotJson)
    assert loads(raw) == want
    assert len(loads(bytearray(raw))["ImageSet"]) == 1000


def test_a_deep_body_takes_the_slow_path(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = b'{"a": "' + b"]" * 900 + b'", "b": ' + b"[" * 900 + b"]" * 900 + b"}"
    monkeypatch.setattr(_client, "json", NotJson)
    with pytest.raises(AssertionError, match=r"json\.loads was called"):
        loads(raw)
