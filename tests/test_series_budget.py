"""The series budget (issue 22): ``collect.max_series``, ``collect.per_bucket_series`` and the
per-account bucket filter, in ``exporter.budget`` and through the real app."""

from __future__ import annotations

import logging
import re
import time

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_families

from exporter import metrics
from exporter.budget import family_name, group_of, plan
from exporter.collector import bucket_families
from exporter.exposition import LineCache, per_bucket_chunks, per_bucket_counts, render
from exporter.results import Result
from exporter.simulator import Simulator, fleet_from_dict
from exporter.ucloud import Bucket
from exporter.validation import NameFilter
from exporter.web.app import App
from exporter.web.budget import WriteCost
from tests.support.asgi import call, runtime_on
from tests.support.examples import examples
from tests.support.procs import config_for, value

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


@settings(max_examples=examples(150), deadline=None)
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


# --- through the real app: a simulator fleet, a Runtime on a config file, the ASGI app ---

LOGGER = "exporter.web.app"
OPENMETRICS = "application/openmetrics-text; version=1.0.0"
PER_BUCKET = (metrics.IMAGES.name, metrics.CREATED.name)


def _fleet(a_buckets=30, b_buckets=20, b_repo_images=0):
    b: dict[str, object] = {
        "public_key": "pb",
        "private_key": "sb",
        "regions": {"hk": {"synthetic": b_buckets}},
    }
    if b_repo_images:
        b["repos"] = [{"name": "web", "images": b_repo_images}]
    return fleet_from_dict(
        {
            "accounts": [
                {
                    "public_key": "pa",
                    "private_key": "sa",
                    "regions": {"hk": {"synthetic": a_buckets}},
                },
                b,
            ]
        }
    )


def _accounts(a_filter=None, b_filter=None, uhub=False):
    a = {"name": "a", "public_key": "pa", "private_key": "sa", "regions": ["hk"]}
    b = {"name": "b", "public_key": "pb", "private_key": "sb", "regions": ["hk"], "uhub": uhub}
    if a_filter is not None:
        a["buckets"] = a_filter
    if b_filter is not None:
        b["buckets"] = b_filter
    return [a, b]


def _cfg(url, accounts, **collect):
    return config_for(url, accounts, ucloud={"page_size": 1000}, collect=collect)


def _buckets_of(m, family, account):
    """Return the bucket names of ``account``'s series of ``family``."""
    return sorted(
        dict(labels)["bucket"]
        for name, labels in m
        if name == family and dict(labels)["account"] == account
    )


def _dropped(m):
    return {
        dict(labels)["family"]: v
        for (name, labels), v in m.items()
        if name == metrics.SERIES_DROPPED.name
    }


def _budget_logs(caplog):
    return [r for r in caplog.records if r.name == LOGGER and "series budget" in r.getMessage()]


@pytest.mark.e2e
def test_past_max_series_the_per_bucket_families_go_whole_counts_stay_logged_once(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    with (
        Simulator(_fleet()) as sim,
        runtime_on(tmp_path, _cfg(sim.url, _accounts(), max_series=50)) as (
            runtime,
            path,
        ),
    ):
        app = App(runtime)
        for _ in range(3):
            m = call(app).samples()
            assert not [name for name, _ in m if name in PER_BUCKET]
            assert value(m, metrics.BUCKETS.name, account="a", region="hk", type="private") == 24
            assert value(m, metrics.BUCKETS.name, account="a", region="hk", type="public") == 6
            assert value(m, metrics.BUCKETS.name, account="b", region="hk", type="private") == 16
            assert _dropped(m) == {  # a 0 for every droppable family kept (all empty here)
                **{f.name: 0 for f in metrics.CATALOGUE if f.budget},
                metrics.IMAGES.name: 50,  # 30 + 20 buckets
                metrics.CREATED.name: 50,
            }
        logs = _budget_logs(caplog)
        assert len(logs) == 1 and logs[0].levelno == logging.WARNING
        assert "leaves out buckets" in logs[0].getMessage()
        assert "ucloud_image_bucket_images 50" in logs[0].getMessage()

        path.write_text(yaml.safe_dump(_cfg(sim.url, _accounts(), max_series=100_000)))
        assert runtime.reload()
        for _ in range(2):
            m = call(app).samples()
            assert len(_buckets_of(m, metrics.IMAGES.name, "a")) == 30
            assert len(_buckets_of(m, metrics.CREATED.name, "b")) == 20
            assert set(_dropped(m).values()) == {0}
        logs = _budget_logs(caplog)
        assert len(logs) == 2 and "serves every family again" in logs[1].getMessage()


@pytest.mark.e2e
def test_per_bucket_series_false_leaves_out_every_per_bucket_and_per_image_family(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    fleet = _fleet(b_repo_images=7)
    cfg = config_for(
        "", _accounts(uhub=True), ucloud={"page_size": 1000}, uhub={"tag_counts": "off"}
    )
    with Simulator(fleet) as sim:
        cfg["ucloud"]["base_url"] = sim.url
        cfg["collect"]["per_bucket_series"] = False
        with runtime_on(tmp_path, cfg) as (runtime, _):
            deadline = time.monotonic() + 30
            while not any(st.up for st in runtime.engine.uhub.states()):
                assert time.monotonic() < deadline, "UHub was not listed"
                time.sleep(0.1)
            app = App(runtime)
            m = call(app).samples()
    names = {name for name, _ in m}
    assert not names & {f.name for f in metrics.CATALOGUE if f.budget}
    assert not any(n.startswith("ucloud_uhub_image_") for n in names)
    assert value(m, metrics.UHUB_REPO_IMAGES.name, account="b", repo="web") == 7  # a count
    assert value(m, metrics.BUCKETS.name, account="b", region="hk", type="private") == 16
    dropped = _dropped(m)
    assert dropped[metrics.IMAGES.name] == 50 and dropped[metrics.UHUB_IMAGE_UPDATED.name] == 7
    logs = _budget_logs(caplog)
    assert (
        len(logs) == 1
        and logs[0].levelno == logging.INFO
        and "per_bucket_series" in logs[0].getMessage()
    )


@pytest.mark.e2e
def test_an_accounts_bucket_filter_keeps_its_buckets_out_of_series_not_out_of_the_count(tmp_path):
    accounts = _accounts(
        a_filter={"exclude": "bucket-0000[1-5]"}, b_filter={"include": "bucket-0001.*"}
    )
    with (
        Simulator(_fleet()) as sim,
        runtime_on(tmp_path, _cfg(sim.url, accounts)) as (runtime, path),
    ):
        app = App(runtime)
        m = call(app).samples()
        expected_a = [f"bucket-{i:05d}" for i in range(6, 31)]
        expected_b = [f"bucket-{i:05d}" for i in range(10, 20)]
        for family in PER_BUCKET:
            assert _buckets_of(m, family, "a") == expected_a
            assert _buckets_of(m, family, "b") == expected_b  # b's filter, not a's
        assert value(m, metrics.BUCKETS.name, account="a", region="hk", type="private") == 24
        assert value(m, metrics.BUCKETS.name, account="b", region="hk", type="public") == 4
        assert set(_dropped(m).values()) == {0}  # a filter is not the budget

        # name[] honours the filter...
        asked = "name[]=ucloud_image_bucket_images&name[]=ucloud_image_buckets"
        named = call(app, query=asked).samples()
        assert _buckets_of(named, metrics.IMAGES.name, "a") == expected_a
        assert _buckets_of(named, metrics.IMAGES.name, "b") == expected_b
        assert not _buckets_of(named, metrics.CREATED.name, "a")
        # ... the probe too, and OpenMetrics is still valid
        probe = call(app, "/probe", query="account=a&region=hk", headers={"Accept": OPENMETRICS})
        assert probe.headers["content-type"].startswith("application/openmetrics-text")
        assert probe.text.endswith("# EOF\n")
        families = list(om_families(probe.text))
        images = next(f for f in families if f.name == metrics.IMAGES.name)
        assert sorted(s.labels["bucket"] for s in images.samples) == expected_a
        assert not [f for f in families if f.name == metrics.SERIES_DROPPED.name]  # telemetry only

        # a reload that changes the filter: the cached lines of the old filter are not served
        path.write_text(yaml.safe_dump(_cfg(sim.url, _accounts())))
        assert runtime.reload()
        m = call(app).samples()
        assert len(_buckets_of(m, metrics.IMAGES.name, "a")) == 30
        assert len(_buckets_of(m, metrics.IMAGES.name, "b")) == 20


@pytest.mark.e2e
def test_name_scrapes_and_probes_keep_to_the_budget_too_in_openmetrics(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    with (
        Simulator(_fleet()) as sim,
        runtime_on(tmp_path, _cfg(sim.url, _accounts(), max_series=50)) as (
            runtime,
            _,
        ),
    ):
        app = App(runtime)
        named = call(
            app, query="name[]=ucloud_image_bucket_images&name[]=" + metrics.SERIES_DROPPED.name
        ).samples()
        assert not _buckets_of(named, metrics.IMAGES.name, "a")
        assert _dropped(named)[metrics.IMAGES.name] == 50
        probe = call(app, "/probe", query="account=a&region=hk", headers={"Accept": OPENMETRICS})
        assert probe.status == 200 and probe.text.endswith("# EOF\n")
        families = {f.name: f for f in om_families(probe.text)}
        assert metrics.IMAGES.name not in families
        assert sum(s.value for s in families[metrics.BUCKETS.name].samples) == 30
        pages = [r.getMessage().split()[2] for r in _budget_logs(caplog)]
        assert pages == ["/metrics", "/probe?account=a&project=&region=hk"]  # one per page


@pytest.mark.e2e
def test_a_huge_fleet_past_a_small_budget_is_counted_never_written(tmp_path):
    """Hostile: 20,000 buckets, max_series 100. The per-bucket series are counted from the
    columns and never written (the line cache stays empty); the page stays small."""
    with (
        Simulator(_fleet(a_buckets=20_000, b_buckets=0)) as sim,
        runtime_on(tmp_path, _cfg(sim.url, _accounts(), max_series=100)) as (runtime, _),
    ):
        app = App(runtime)
        for _ in range(2):
            answer = call(app)
            m = answer.samples()
            assert (
                value(m, metrics.BUCKETS.name, account="a", region="hk", type="private") == 16_000
            )
            assert _dropped(m)[metrics.IMAGES.name] == 20_000
            assert len(answer.body) < 64 * 1024, len(answer.body)
            assert len(m) < 400
        assert app._lines._kept == {}  # nothing was written for the cache


class _Spy(WriteCost):
    def __init__(self):
        super().__init__()
        self.reserved, self.learned = [], []

    def reserve(self, page, series, budget):
        self.reserved.append(series)
        return super().reserve(page, series, budget)

    def learn(self, page, series, seconds):
        self.learned.append(series)
        super().learn(page, series, seconds)


@pytest.mark.e2e
def test_the_write_cost_counts_the_series_written_after_the_budget(tmp_path):
    spy = _Spy()
    with (
        Simulator(_fleet(a_buckets=5000, b_buckets=0)) as sim,
        runtime_on(tmp_path, _cfg(sim.url, _accounts(), max_series=100)) as (runtime, _),
    ):
        assert call(App(runtime, write_cost=spy)).status == 200
    assert spy.learned and max(spy.learned) < 200  # not the 10,000 per-bucket series
    assert spy.reserved and max(spy.reserved) <= 100  # the reserve is capped by the budget
