"""Our signer and form encoding against UCloud's official Python SDK (ucloud-sdk-python3).

The SDK is the reference for what the gateway verifies: ``ucloud.core.auth.verify_ac`` signs,
``ucloud.core.typesystem.encoder`` writes values and flattens lists and objects
(``Key.N``, ``Key.N.Field``, ``Key.Field``), and ``requests`` form-encodes the body the SDK's
``Client`` builds. tests/test_signing.py holds the documented vectors and ``form`` against
``urlencode``; here the same functions meet the SDK on arbitrary parameters.

Where the two differ by design (each checked below):

- ``Signature`` among the parameters: ours leaves it out of the string to sign (the gateway's
  documented rule), the SDK signs whatever it is given; neither client ever sends one of its
  own before signing, so the signed requests agree.
- lists and objects: the SDK flattens them; our client sends flat parameters only (none of
  its actions takes a list or an object), and refuses a list or an object rather than sign
  Python's ``repr`` of it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from requests.models import RequestEncodingMixin
from ucloud.core.auth import Credential
from ucloud.core.auth._cfg import verify_ac
from ucloud.core.client import Client
from ucloud.core.typesystem import encoder

from exporter.config import Secret
from exporter.simulator.signing import flatten_params
from exporter.ucloud import UCloudAuth, sign
from exporter.ucloud._auth import format_value, signed_form
from tests.support.examples import examples

PUBLIC, PRIVATE = "pub-键 +/=", "priv-SECRET"
EXAMPLES = settings(max_examples=examples(300), deadline=None)

# Text as a Python client can send it: any code point but a lone surrogate (UTF-8 cannot
# carry one: the SDK's requests and our encoder both raise UnicodeEncodeError).
text = st.text(st.characters(codec="utf-8"), max_size=16)
odd_keys = st.sampled_from(
    ["Action", "Region", "ProjectId", "Limit", "Offset", "a.b", "x=y", "&", " ", "+", "%20",
     "é", "镜像", "Tag.0", "Key.1.Field", "", "0", "a-b_c.d~e"]
)  # fmt: skip
keys = (text | odd_keys).filter(lambda k: k != "Signature")
scalars = (
    text
    | st.integers()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats()  # nan, inf, -0.0 and floats with and without a fraction
    | st.floats(min_value=-1e6, max_value=1e6).map(float.__floor__).map(float)
    | st.booleans()
)
flat = st.dictionaries(keys, scalars, max_size=8)


def sdk_signed_form(params: dict[str, Any], *, public: str = PUBLIC) -> str:
    """Return the body the SDK's Client sends for ``params`` (no Region/ProjectId config)."""
    client = Client({"public_key": public, "private_key": PRIVATE})
    request = client._build_http_request(dict(params))
    body: str = RequestEncodingMixin._encode_params(request.data)
    return body


def pairs(body: str) -> set[str]:
    """The ``name=value`` pairs of a form body as sent (encoded), in any order."""
    return set(body.split("&"))


@EXAMPLES
@given(flat)
def test_signature_and_values_as_the_sdk_writes_them(params: dict[str, Any]) -> None:
    assert sign(params, PRIVATE) == verify_ac(PRIVATE, dict(params))
    assert {k: format_value(v) for k, v in params.items()} == encoder.encode(params)


@EXAMPLES
@given(flat)
def test_signed_body_is_the_sdks_pair_for_pair(params: dict[str, Any]) -> None:
    """What our client sends (``signed_form``) is the SDK's body, each pair byte for byte."""
    ours = signed_form(
        {k: format_value(v) for k, v in params.items()}, PUBLIC, Secret(PRIVATE)
    ).decode("ascii")
    theirs = sdk_signed_form(params)
    assert pairs(ours) == pairs(theirs)
    fields = dict(parse_qsl(ours, keep_blank_values=True))
    assert fields["Signature"] == Credential(PUBLIC, PRIVATE).verify_ac(encoder.encode(params))
    assert fields["PublicKey"] == PUBLIC


@settings(max_examples=examples(100), deadline=None)
@given(st.dictionaries(keys, text, max_size=8))
def test_ucloud_auth_body_is_the_sdks_pair_for_pair(params: dict[str, str]) -> None:
    """``UCloudAuth`` (httpx re-encoding a signed form) sends the SDK's body too."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"RetCode": 0})

    transport = httpx.MockTransport(handler)
    with httpx.Client(transport=transport, auth=UCloudAuth(PUBLIC, Secret(PRIVATE))) as http:
        http.post("https://api.example/", data=params)
    (request,) = seen
    assert pairs(request.content.decode("ascii")) == pairs(sdk_signed_form(params))
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"


def test_the_sdk_signs_a_signature_parameter_and_the_sent_requests_still_agree() -> None:
    """The one rule the two signers state differently, and why it cannot matter."""
    params: dict[str, Any] = {"Action": "GetRegion", "Signature": "stale"}
    assert sign(params, PRIVATE) == verify_ac(PRIVATE, {"Action": "GetRegion"})
    assert sign(params, PRIVATE) != verify_ac(PRIVATE, params)
    # Neither client puts a Signature in before signing: the bodies they send are the same.
    ours = signed_form({"Action": "GetRegion"}, PUBLIC, Secret(PRIVATE)).decode("ascii")
    assert pairs(ours) == pairs(sdk_signed_form({"Action": "GetRegion"}))


# Lists and objects as the SDK flattens them: leaves are scalars; a list holds scalars or
# objects (the SDK writes a list inside a list, and a null inside either, as Python's repr).
leaves = scalars
objects = st.recursive(
    st.dictionaries(keys, leaves, min_size=1, max_size=3),
    lambda inner: st.dictionaries(
        keys, leaves | inner | st.lists(leaves | inner, max_size=3), min_size=1, max_size=3
    ),
    max_leaves=10,
)
nested = st.dictionaries(
    keys, scalars | objects | st.lists(leaves | objects, max_size=4), max_size=5
)


@settings(max_examples=examples(200), deadline=None)
@given(nested)
def test_flattened_parameters_sign_as_the_sdk_signs_them(params: dict[str, Any]) -> None:
    """Flattened the SDK's way (``Key.N``, ``Key.N.Field``), our signer and body agree."""
    flattened = encoder.encode(params)
    assert sign(flattened, PRIVATE) == verify_ac(PRIVATE, dict(flattened))
    ours = signed_form(flattened, PUBLIC, Secret(PRIVATE)).decode("ascii")
    assert pairs(ours) == pairs(sdk_signed_form(params))


@settings(max_examples=examples(200), deadline=None)
@given(nested)
def test_simulator_flattens_a_json_body_as_the_sdk_flattens_a_form(params: dict[str, Any]) -> None:
    """The simulator reads a JSON request body into the parameters the SDK would send."""
    assert flatten_params(params) == encoder.encode(params)


@pytest.mark.parametrize("value", [[1, 2], {"Field": "x"}, None, (1,)])
def test_a_list_or_object_is_refused_not_signed_as_its_repr(value: Any) -> None:
    """The SDK would send ``Key.0``/``Key.Field`` (or drop a null); ours has no such encoding
    and must not sign ``Key[1, 2]`` instead."""
    with pytest.raises(TypeError):
        format_value(value)
    with pytest.raises(TypeError):
        sign({"Action": "X", "Key": value}, PRIVATE)
