"""The specialised per-bucket writer produces exactly prometheus_client's bytes."""

from __future__ import annotations

import gzip

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.openmetrics.exposition import generate_latest as om_generate_latest

from exporter.collector import bucket_families
from exporter.exposition import (
    CHUNK_BYTES,
    LineCache,
    per_bucket_chunks,
    per_bucket_text,
    render,
)
from exporter.results import Result
from exporter.ucloud import Bucket
from tests.support.examples import examples
from tests.support.procs import config_for, golden_account

text = st.text(st.characters(codec="utf-8"), max_size=40)
# Around each switch of the number format: Go's exponent from 10**6, floats exact below 2**53,
# 64-bit columns below 2**63; None is a value the API did not report.
EDGES = [0, 999_999, 10**6, 1_050_000, 10**9, 1_700_000_123, 10**10, 2**53 - 1, 2**53, 2**53 + 1]
values = st.none() | st.integers(0, 2**64) | st.sampled_from([*EDGES, 10**16, 2**63 - 1, 2**63])
buckets = st.builds(
    Bucket,
    name=st.none() | text,
    type=st.sampled_from(["private", "public", "unknown"]) | text,
    images=values,
    created=values,
)
results = st.lists(
    st.builds(
        Result,
        account=text,
        region=text,
        buckets=st.none() | st.lists(buckets, max_size=5).map(tuple),
        duration=st.just(0.1),
        finished=st.just(0.0),
    ),
    max_size=4,
)


class _Two:
    def __init__(self, results):
        self._results = results

    def collect(self):
        return list(bucket_families(self._results))[1:]


def library(results, encoder):
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Two(results))
    return encoder(registry).decode().removesuffix("# EOF\n")


@settings(max_examples=examples(300), deadline=None)
@given(results=results)
def test_writer_matches_the_library_in_both_formats(results):
    written = per_bucket_text(results)
    assert written == library(results, generate_latest)
    assert written == library(results, om_generate_latest)


@pytest.mark.e2e
def test_served_pages_match_filtered_and_formats(simulator, start_exporter):
    exp = start_exporter(
        config_for(simulator.url, [golden_account()], collect={"min_interval_seconds": 60})
    )
    answer = exp.get()
    page, page_type = answer.text, answer.headers["content-type"]
    filtered = exp.get("/metrics?name[]=ucloud_image_bucket_images").text
    images = [ln for ln in page.splitlines() if ln.startswith("ucloud_image_bucket_images{")]
    assert len(images) == 9
    assert [ln for ln in filtered.splitlines() if not ln.startswith("#")] == images
    om = exp.get(headers={"Accept": "application/openmetrics-text; version=1.0.0"}).text
    assert om.endswith("# EOF\n") and om.count("# EOF") == 1
    assert all(line in om for line in images)
    zipped = httpx.get(exp.url + "/metrics", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"  # httpx decompressed it for us
    assert zipped.text.count("ucloud_image_bucket_images{") == 9
    head = httpx.head(exp.url + "/metrics")
    assert head.status_code == 200 and head.content == b""  # and no collection for it
    assert head.headers["content-type"] == page_type
    assert httpx.head(exp.url + "/").status_code == 200


def _answer(results, accept="", encoding=""):
    """Render ``results`` as /metrics would (no other families); return (headers, chunks)."""
    page = render(
        CollectorRegistry(auto_describe=False), results, accept=accept, gzip=encoding == "gzip"
    )
    return dict(page.headers()), list(page.chunks())


def test_a_big_page_is_written_in_chunks_never_as_one_piece():
    """Memory (issue 14): no copy of the whole page exists, plain or gzip, only its chunks."""
    per_target = 3_000
    results = [
        Result(
            "acct",
            "org-1",
            f"region-{t}",
            tuple(Bucket(f"b-{t}-{i}", "private", i, 1_700_000_000 + i) for i in range(per_target)),
            0.1,
            0.0,
        )
        for t in range(8)
    ]
    one_target = len(per_bucket_text(results[:1]).encode())
    for accept in ("", "application/openmetrics-text; version=1.0.0"):
        headers, plain = _answer(results, accept)
        page = b"".join(plain)
        assert page.decode().endswith(per_bucket_text(results) + ("# EOF\n" if accept else ""))
        assert int(headers["Content-Length"]) == len(page)
        assert len(plain) > 1 and max(map(len, plain)) < 2 * CHUNK_BYTES < one_target
        headers, zipped = _answer(results, accept, "gzip")
        assert headers["Content-Encoding"] == "gzip"
        assert int(headers["Content-Length"]) == sum(map(len, zipped))
        assert gzip.decompress(b"".join(zipped)) == page


@settings(max_examples=examples(100), deadline=None)
@given(scrapes=st.lists(results, min_size=1, max_size=4))
def test_cached_lines_are_the_lines_written_afresh(scrapes):
    cache = LineCache()
    for results in scrapes:
        assert b"".join(per_bucket_chunks(results, cache)) == b"".join(per_bucket_chunks(results))
        cache.retain(r.key for r in results)


def test_an_unchanged_target_reuses_its_lines_and_a_changed_one_is_written_again():
    def result(region, images):
        rows = tuple(Bucket(f"b{i}", "private", images + i, 1_700_000_000) for i in range(3))
        return Result(
            account="a", project="p", region=region, buckets=rows, duration=0.1, finished=0.0
        )

    cache = LineCache()
    first = cache.blocks(result("r1", 5))
    same = cache.blocks(result("r1", 5))  # a fresh listing, equal buckets
    assert same is first
    changed = cache.blocks(result("r1", 6))
    assert changed is not first and changed[0] != first[0] and changed[1] == first[1]
    other = cache.blocks(result("r2", 6))
    cache.retain([("a", "p", "r2")])  # r1 is no longer a target
    assert cache.blocks(result("r2", 6)) is other
    assert cache.blocks(result("r1", 6)) is not changed


class _Many:
    """A family of many samples: the library's part of a page, bigger than a chunk."""

    def collect(self):
        family = GaugeMetricFamily("many_things", "Lots of them.", labels=["name"])
        for i in range(20_000):
            family.add_metric([f"thing-{i}"], i)
        yield family


def test_a_plain_page_keeps_no_part_bigger_than_a_chunk_until_it_is_sent():
    """A client that stops reading holds about one chunk: big parts are kept compressed."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Many())
    expected = generate_latest(registry)
    assert len(expected) > 2 * CHUNK_BYTES
    for names in ((), ("many_things",)):
        page = render(registry, [], names=names)
        assert all(len(p) <= CHUNK_BYTES for p in page.parts if isinstance(p, bytes))
        body = b"".join(page.chunks())
        assert body.startswith(expected) and len(body) == page.length
        assert max(map(len, page.chunks())) < 2 * CHUNK_BYTES
