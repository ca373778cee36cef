"""The series budget (issue 22): ``collect.max_series``, ``collect.per_bucket_series`` and the
per-account bucket filter, in ``exporter.budget`` and through the real app."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, generate_latest

from exporter import metrics
from exporter.budget import family_name, group_of, plan
from exporter.collector import bucket_families
from exporter.engine import Result
from exporter.exposition import LineCache, per_bucket_chunks, per_bucket_counts, render
from exporter.ucloud import Bucket
from exporter.validation import NameFilter

COUNTS = {
    metrics.BUCKETS.name: 10,  # counts: never left out
    metrics.UP.name: 5,
    metrics.IMAGES.name: 100,  # "buckets"
    metrics.CREATED.name: 100,
    metrics.UHUB_IMAGE_PULLS.base: 40,  # "uhub_images", as prometheus_client names it
    metrics.UHUB_IMAGE_UPDATED.name: 40,
    metrics.DOCKER_IMAGE_TAGS.name: 300,  # "bucket_images"
    metrics.HOST_IMAGE_SIZE.name: 20,  # "host_images"
    "process_cpu_seconds": 1,  # not in the catalogue: never left out
}
TOTAL = sum(COUNTS.values())  # 616


def test_everything_fits_nothing_is_left_out():
    cut = plan(COUNTS, max_series=TOTAL, per_bucket_series=True)  # exactly at the budget
    assert cut.groups == () and cut.reason == "" and cut.series == cut.total == TOTAL
    assert set(cut.dropped.values()) == {0}
    assert set(cut.dropped) == {
        metrics.IMAGES.name,
        metrics.CREATED.name,
        metrics.UHUB_IMAGE_PULLS.name,  # the catalogue's name, with _total
        metrics.UHUB_IMAGE_UPDATED.name,
        metrics.DOCKER_IMAGE_TAGS.name,
        metrics.HOST_IMAGE_SIZE.name,
    }


@pytest.mark.parametrize(
    ("max_series", "groups"),
    [
        (TOTAL - 1, ("bucket_images",)),  # one over: the first group goes, whole
        (316, ("bucket_images",)),  # exactly fits after the first drop
        (315, ("bucket_images", "host_images")),
        (296, ("bucket_images", "host_images")),
        (295, ("bucket_images", "host_images", "uhub_images")),
        (216, ("bucket_images", "host_images", "uhub_images")),
        (215, metrics.DROP_ORDER),
        (16, metrics.DROP_ORDER),
    ],
)
def test_whole_groups_are_left_out_in_drop_order(max_series, groups):
    cut = plan(COUNTS, max_series=max_series, per_bucket_series=True)
    assert cut.groups == groups and cut.reason == "max_series"
    kept = TOTAL - sum(cut.dropped.values())
    assert cut.series == kept <= max_series
    for name in cut.dropped:
        assert (cut.dropped[name] > 0) == (group_of(name) in groups)
        assert cut.leaves_out(name) == (group_of(name) in groups)
    assert cut.dropped[metrics.UHUB_IMAGE_PULLS.name] == (40 if "uhub_images" in groups else 0)


def test_counts_alone_past_the_budget_keep_counts_and_leave_out_every_group():
    cut = plan(COUNTS, max_series=3, per_bucket_series=True)
    assert cut.groups == metrics.DROP_ORDER
    assert cut.series == 16  # counts and health: never left out, though past 3
    assert metrics.BUCKETS.name not in cut.dropped and not cut.leaves_out(metrics.BUCKETS.name)


def test_a_group_without_series_is_not_left_out_for_nothing():
    counts = {metrics.BUCKETS.name: 1, metrics.IMAGES.name: 10}
    cut = plan(counts, max_series=5, per_bucket_series=True)
    assert cut.groups == ("buckets",) and cut.series == 1


def test_per_bucket_series_false_leaves_out_every_group_whatever_the_budget():
    cut = plan(COUNTS, max_series=10**8, per_bucket_series=False)
    assert cut.groups == metrics.DROP_ORDER and cut.reason == "per_bucket_series"
    assert cut.series == 16 and sum(cut.dropped.values()) == TOTAL - 16
    assert cut.leaves_out(metrics.UHUB_IMAGE_TAGS.name)
    assert not cut.leaves_out(metrics.UHUB_REPOS.name)


def test_the_dropped_gauge_is_never_left_out_and_names_follow_the_catalogue():
    assert group_of(metrics.SERIES_DROPPED.name) == ""
    assert family_name(metrics.UHUB_IMAGE_PULLS.base) == metrics.UHUB_IMAGE_PULLS.name
    assert family_name("process_cpu_seconds") == "process_cpu_seconds"
    assert plan({}, max_series=1, per_bucket_series=True).groups == ()


# --- the writer: the account's bucket filter, counting without writing, the cache ---


def _filter(include=None, exclude=None):
    return NameFilter(
        None if include is None else re.compile(include),
        None if exclude is None else re.compile(exclude),
    )


def _result(account, names, region="r", images=1):
    rows = tuple(Bucket(n, "private", images, 1_700_000_000) for n in names)
    return Result(
        account=account, project="p", region=region, buckets=rows, duration=0.1, finished=0.0
    )


class _Collected:
    def __init__(self, families):
        self._families = families

    def collect(self):
        return self._families


filters_st = st.dictionaries(
    st.sampled_from(["a", "b", ""]),
    st.builds(
        _filter,
        st.none() | st.sampled_from(["b.*", ".*1", "x"]),
        st.none() | st.sampled_from(["b2", ".*", "[^b].*"]),
    ),
    max_size=3,
)
results_st = st.lists(
    st.builds(
        Result,
        account=st.sampled_from(["a", "b", ""]),
        region=st.sampled_from(["r1", "r2"]),
        buckets=st.none()
        | st.lists(
            st.builds(
                Bucket,
                name=st.none() | st.sampled_from(["b1", "b2", "c1", 'q"\\']),
                type=st.sampled_from(["private", "public"]),
                images=st.none() | st.integers(0, 10**10),
                created=st.none() | st.integers(0, 2**64),
            ),
            max_size=6,
        ).map(tuple),
        duration=st.just(0.1),
        finished=st.just(0.0),
    ),
    max_size=4,
    unique_by=lambda r: (r.account, r.region),
)


@settings(max_examples=150, deadline=None)
@given(results=results_st, scrapes=st.lists(filters_st, min_size=1, max_size=3))
def test_filtered_lines_are_the_librarys_counted_without_writing_and_cached_per_filter(
    results, scrapes
):
    cache = LineCache()
    for filters in scrapes:  # a reload changing the filters between scrapes
        reference = CollectorRegistry(auto_describe=False)
        families = list(bucket_families(results, filters))[1:]
        reference.register(_Collected(families))
        expected = generate_latest(reference)
        written = b"".join(per_bucket_chunks(results, cache, filters=filters))
        assert written == expected
        assert written == b"".join(per_bucket_chunks(results, filters=filters))
        counts = per_bucket_counts(results, filters, cache)
        assert counts == {f.name: len(f.samples) for f in families}
        for family in families:  # a bucket a filter keeps out has no series
            for sample in family.samples:
                wanted = filters.get(sample.labels["account"])
                assert wanted is None or wanted.wants(sample.labels["bucket"])


def test_a_reload_changing_the_filter_never_serves_the_old_lines():
    cache = LineCache()
    result = _result("a", ["keep-1", "drop-1"])
    every = b"".join(per_bucket_chunks([result], cache))
    assert every.count(b"drop-1") == 2
    narrowed = {"a": _filter(exclude="drop-.*")}
    first = b"".join(per_bucket_chunks([result], cache, filters=narrowed))
    assert b"drop-1" not in first and first.count(b"keep-1") == 2
    again = _result("a", ["keep-1", "drop-1"])  # a fresh listing, the same buckets
    assert cache.blocks(again, narrowed["a"]) is cache.blocks(result, narrowed["a"])
    assert b"".join(per_bucket_chunks([again], cache)) == every  # filter gone: all again


def test_left_out_families_are_not_written_and_the_counts_stay():
    result = _result("a", ["b1", "b2"])
    page = render(
        CollectorRegistry(auto_describe=False),
        [result],
        LineCache(),
        left_out={metrics.IMAGES.name, metrics.CREATED.name},
    )
    body = b"".join(page.chunks()).decode()
    assert "ucloud_image_bucket_images" not in body and "_created_timestamp" not in body
