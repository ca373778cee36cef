"""The signature algorithm against the documented test vectors, and UCloudAuth on the wire."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exporter.config import Secret
from exporter.ucloud import UCloudAuth, sign
from exporter.ucloud._auth import form
from tests.support.examples import examples

VECTORS = [
    (
        {
            "Action": "DescribeUHostInstance",
            "Region": "cn-bj2",
            "Limit": 10,
            "PublicKey": "ucloudsomeone@example.com1296235120854146120",
        },
        "46f09bb9fab4f12dfc160dae12273d5332b5debe",
        "cba5cf5ec4d4233d206b1b54951e3787350a642f",
    ),
    ({"foo": "bar"}, "my_private_key", "634edc1bb957c0d65e5ab5494cf3b7784fbc87af"),
    (
        {"foo": "bar", "PublicKey": "my_public_key"},
        "my_private_key",
        "d4411ab30953fb0bbcb1e7313081f05e4e91a394",
    ),
]


@pytest.mark.parametrize(("params", "private_key", "expected"), VECTORS)
def test_documented_vectors(params, private_key, expected):
    assert sign(params, private_key) == expected


def test_signature_param_is_ignored_and_values_formatted():
    base: dict[str, str | int | float | bool] = {
        "Action": "X",
        "Limit": 10,
        "Flag": True,
        "Ratio": 42.0,
    }
    assert sign({**base, "Signature": "whatever"}, "k") == sign(base, "k")
    assert sign(base, "k") == sign(
        {"Action": "X", "Limit": "10", "Flag": "true", "Ratio": "42"}, "k"
    )


def test_auth_signs_form_body_and_hides_private_key():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"RetCode": 0})

    auth = UCloudAuth("pub", Secret("priv-SECRET"))
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        client.post(
            "https://api.example/",
            data={"Action": "GetImageBucketList", "Region": "cn-bj2", "Limit": "100"},
            auth=auth,
        )
    (request,) = seen
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    form = dict(parse_qsl(request.content.decode()))
    assert form["PublicKey"] == "pub"
    unsigned = {k: v for k, v in form.items() if k != "Signature"}
    assert form["Signature"] == sign(unsigned, "priv-SECRET")
    assert "priv-SECRET" not in request.content.decode()
    assert "priv-SECRET" not in repr(auth)


@settings(max_examples=examples(300), deadline=None)
@given(
    fields=st.dictionaries(
        st.text(max_size=12) | st.sampled_from(["Action", "Region", "Offset", "a-b_c.d~e"]),
        st.text(max_size=30) | st.from_regex(r"[A-Za-z0-9_.~-]{0,20}", fullmatch=True),
        max_size=8,
    )
)
def test_the_form_is_urlencode_byte_for_byte(fields: dict[str, str]) -> None:
    assert form(fields) == urlencode(fields)
