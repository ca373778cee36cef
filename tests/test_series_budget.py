"""The series budget (issue 22): ``collect.max_series``, ``collect.per_bucket_series`` and the
per-account bucket filter, in ``exporter.budget`` and through the real app."""

from __future__ import annotations

import pytest

from exporter import metrics
from exporter.budget import family_name, group_of, plan

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
