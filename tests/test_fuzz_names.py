"""Property-based fuzzing (hypothesis) of bucket names: any name through the exposition, and
any string from the API rendered and parsed back. Bounded ``max_examples``, no deadline.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as parse_openmetrics,
)
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

from exporter.collector import bucket_families
from exporter.exposition import per_bucket_text
from exporter.results import Result
from exporter.ucloud import Bucket, Listing
from tests.support.examples import examples
from tests.support.inprocess import FUZZ, list_over

# -- bucket names through the exposition -------------------------------------------------

names = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=40)


class Families(Collector):
    """A collector yielding fixed families."""

    def __init__(self, results: list[Result]) -> None:
        self._results = results

    def collect(self) -> Iterator[Any]:
        """Yield the bucket families of the results."""
        yield from bucket_families(self._results)


@FUZZ
@given(
    buckets=st.lists(
        st.tuples(names, names, st.integers(0, 10**6)), max_size=8, unique_by=lambda t: t[0]
    )
)
def test_any_unicode_bucket_name_round_trips(buckets):
    result = Result(
        "main",
        "org-1",
        "cn-bj2",
        tuple(Bucket(name, kind.lower(), n, 1_600_000_000) for name, kind, n in buckets),
        0.1,
        0.0,
    )
    registry = CollectorRegistry(auto_describe=False)
    registry.register(Families([result]))
    want = {(name, kind.lower()): n for name, kind, n in buckets}
    for text, parse in (
        (generate_latest(registry).decode(), text_string_to_metric_families),
        (generate_openmetrics(registry).decode(), parse_openmetrics),
    ):
        got = {
            (s.labels["bucket"], s.labels["type"]): s.value
            for fam in parse(text)
            for s in fam.samples
            if s.name == "ucloud_image_bucket_images"
        }
        assert got == want


# -- any string from the API ------------------------------------------------------------

# Every code point, lone surrogates, NUL and control characters included, and long strings.
any_code_point = st.integers(0, 0x10FFFF).map(chr)
api_strings = (
    st.text(any_code_point, min_size=1, max_size=30)
    | st.text(st.sampled_from('\x00\x01\n\r\t"\\\x7f\u2028\ud800\udfff'), min_size=1, max_size=10)
    | st.builds(lambda c, n: c * n, any_code_point, st.just(100_000))
)


def _listed(raw_names: list[str]) -> Listing:
    items = [
        {"BucketName": n, "BucketType": "Private", "ImageCount": i, "CreateTime": 1}
        for i, n in enumerate(raw_names)
    ]
    body = json.dumps({"RetCode": 0, "TotalCount": len(items), "ImageSet": items}).encode()

    return list_over(lambda request: httpx.Response(200, content=body))


@settings(
    max_examples=examples(60),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(raw_names=st.lists(api_strings, min_size=1, max_size=6))
@example(raw_names=["ok", "bad\ud800", "\x00nul", "pair\ud83d\ude00"])
def test_any_string_from_the_api_renders_and_parses_back(raw_names):
    listing = _listed(raw_names)
    want: dict[str, float] = {}
    for i, raw in enumerate(raw_names):
        want.setdefault(raw.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace"), i)
    result = Result("main", "org-1", "cn-bj2", listing.buckets, 0.1, 0.0)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(Families([result]))
    pages = [
        (per_bucket_text([result]).encode("utf-8"), text_string_to_metric_families),
        (generate_latest(registry), text_string_to_metric_families),
        (generate_openmetrics(registry), parse_openmetrics),
    ]
    for page, parse in pages:  # every page encodes: no series costs another
        got = {
            s.labels["bucket"]: s.value
            for fam in parse(page.decode("utf-8"))
            for s in fam.samples
            if s.name == "ucloud_image_bucket_images"
        }
        assert got == want
