"""Property-based fuzzing (hypothesis): API bodies, YAML configs, bucket names, CLI flags.

Each property has a bounded ``max_examples`` and no per-example deadline; together they
take well under 30 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as parse_openmetrics,
)
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

from exporter import config, flags
from exporter.collector import bucket_families
from exporter.config import Account, ConfigError, Secret, UCloudSettings
from exporter.engine import Result
from exporter.exposition import per_bucket_text
from exporter.ucloud import Bucket, Listing, UCloudClient, UCloudError, list_image_buckets
from tests.support.procs import run_cli

FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
ACCOUNT = Account(name="a", public_key="pub", private_key=Secret("priv"), project_id=None,
                  regions=("r",))
END = {"RetCode": 0, "ImageSet": []}

# -- API response bodies -----------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner,
                                                                max_size=5),
    max_leaves=25)
counts = st.integers(-3, 50) | json_values
entries = st.fixed_dictionaries({}, optional={
    "BucketName": st.text(max_size=30) | json_values,
    "BucketType": st.sampled_from(["Private", "Public", "", "PRIVATE"]) | json_values,
    "ImageCount": counts, "CreateTime": counts})
api_bodies = st.fixed_dictionaries(
    {"RetCode": st.sampled_from([0, 0, 0, 150, 171, 2000]) | json_values},
    optional={"TotalCount": st.integers(-2, 10**15) | json_values,
              "ImageSet": st.lists(entries | json_values, max_size=6) | json_values,
              "Message": json_values, "Action": json_values})
answers = st.tuples(
    st.sampled_from([200, 200, 200, 200, 429, 500, 404]),
    st.one_of(st.binary(max_size=300),
              json_values.map(lambda v: json.dumps(v).encode()),
              api_bodies.map(lambda v: json.dumps(v).encode())))


def run_listing(script: list[tuple[int, bytes]], page_size: int, retries: int) -> object:
    """List against a gateway answering ``script`` in order, then empty pages."""
    settings_ = UCloudSettings(base_url="https://api.example/", page_size=page_size,
                               retries=retries, timeout_seconds=2)
    queue = list(script)

    def handler(request: httpx.Request) -> httpx.Response:
        status, body = queue.pop(0) if queue else (200, json.dumps(END).encode())
        return httpx.Response(status, content=body)

    async def no_sleep(_: float) -> None:
        await asyncio.sleep(0)

    async def go() -> object:
        client = UCloudClient(settings_, transport=httpx.MockTransport(handler),
                              rng=random.Random(0), sleep=no_sleep)
        try:
            return await list_image_buckets(client, ACCOUNT, "r",
                                            deadline=time.monotonic() + 5,
                                            observe=lambda *_: None)
        except UCloudError as exc:
            return exc
        finally:
            await client.aclose()

    return asyncio.run(go())


@FUZZ
@given(script=st.lists(answers, min_size=1, max_size=5), page_size=st.integers(1, 4),
       retries=st.integers(0, 2))
@example(script=[(200, b"[" * 100_000)], page_size=1, retries=0)
@example(script=[(200, b'{"RetCode": ' + b"1" * 5000 + b"}")], page_size=1, retries=0)
@example(script=[(200, b'{"RetCode": 0, "TotalCount": 1000000000000, "ImageSet": '
                       b'[{"BucketName": "b", "BucketType": "Private", "ImageCount": 1, '
                       b'"CreateTime": 1}]}')], page_size=1, retries=0)
def test_any_api_answer_is_a_listing_or_a_ucloud_error(script, page_size, retries):
    outcome = run_listing(script, page_size, retries)
    assert isinstance(outcome, Listing | UCloudError)
    if isinstance(outcome, Listing):
        names = [b.name for b in outcome.buckets if b.name is not None]
        assert len(names) == len(set(names)) and all(names)
        for value in (v for b in outcome.buckets for v in (b.images, b.created)):
            assert value is None or (type(value) is int and value >= 0)
        assert all(b.type in ("private", "public", "unknown") for b in outcome.buckets)
    else:
        assert outcome.reason and "priv" not in repr(outcome) + str(outcome)


# -- YAML configuration ------------------------------------------------------------------

SECRET = "fuzz-PRIVATE-key-d00d"
junk = (st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
        | st.lists(st.text(max_size=6), max_size=3) | st.dictionaries(st.text(max_size=6),
                                                                     st.integers(), max_size=2))
key_files = st.sampled_from(["key.txt", "empty.txt", "missing.txt", ".", "~nobody/k"]) | \
    st.text(max_size=12)
account = st.fixed_dictionaries({}, optional={
    "name": st.sampled_from(["main", "a.b:c-1", "", "bad name", "x" * 70]) | junk,
    "public_key": st.sampled_from(["pub", " ", ""]) | junk,
    "private_key": st.just(SECRET) | junk, "public_key_file": key_files,
    "private_key_file": key_files, "project_id": st.just("org-1") | junk,
    "regions": st.just("auto") | st.lists(st.sampled_from(["cn-bj2", "hk", "Bad", "cn-bj2"])
                                          | junk, max_size=3) | junk,
    "bucket_type": st.sampled_from(["All", "User", "Share", "all"]) | junk,
    "bucket_name": junk, "extra": junk})
sections = {
    "ucloud": st.fixed_dictionaries({}, optional={
        "base_url": st.sampled_from(["http://127.0.0.1:1/", "ftp://x", "https://"]) | junk,
        "timeout_seconds": junk, "page_size": st.integers(-1, 1001) | junk,
        "max_concurrent_requests": junk, "retries": junk, "bogus": junk}) | junk,
    "collect": st.fixed_dictionaries({}, optional={
        "min_interval_seconds": junk, "region_refresh_seconds": junk,
        "include_buckets": st.lists(st.sampled_from(["a.*", "(", "[z-a]"]) | junk,
                                    max_size=3) | junk,
        "exclude_buckets": junk}) | junk,
    "accounts": st.lists(account | junk, max_size=3) | junk,
}
configs = st.fixed_dictionaries({}, optional=sections) | junk


@pytest.fixture(scope="module")
def confdir(tmp_path_factory) -> Path:
    """A directory with a key file and an empty one."""
    root: Path = tmp_path_factory.mktemp("fuzzconf")
    (root / "key.txt").write_text("key-from-file\n")
    (root / "empty.txt").write_text("  \n")
    return root


def check_load(path: Path) -> None:
    """Load ``path``: a Config, or ConfigError with non-empty one-line problems, no secret."""
    try:
        config.load(path, env={})
    except ConfigError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert isinstance(problem, str) and problem.strip()
            assert "\n" not in problem and "\r" not in problem, problem
            assert SECRET not in problem


@FUZZ
@given(data=configs)
@example(data={"\n": 0})  # a key with a newline made a two-line problem
@example(data={"accounts": [{"name": "a", "public_key": "p", "private_key_file": "k\x00",
                             "regions": ["hk"]}]})  # ValueError: embedded null byte
def test_structured_yaml_loads_or_is_a_config_error(confdir, data):
    path = confdir / "config.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    check_load(path)


@FUZZ
@given(text=st.text(alphabet=st.sampled_from(list("ab:-_ [],{}\n\t'\"#&*!|>%@`?\\0123.~"))
                    | st.characters(), max_size=120))
@example(text="ucloud: {timeout_seconds: 2001-13-01}")  # ValueError from the date constructor
@example(text="a: " + "[" * 5000)  # RecursionError in the YAML parser
def test_yaml_text_loads_or_is_a_config_error(confdir, text):
    path = confdir / "text.yaml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    check_load(path)


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
@given(buckets=st.lists(st.tuples(names, names, st.integers(0, 10**6)), max_size=8,
                        unique_by=lambda t: t[0]))
def test_any_unicode_bucket_name_round_trips(buckets):
    result = Result("main", "cn-bj2", tuple(Bucket(name, kind.lower(), n, 1_600_000_000)
                                            for name, kind, n in buckets), 0.1, 0.0)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(Families([result]))
    want = {(name, kind.lower()): n for name, kind, n in buckets}
    for text, parse in ((generate_latest(registry).decode(), text_string_to_metric_families),
                        (generate_openmetrics(registry).decode(), parse_openmetrics)):
        got = {(s.labels["bucket"], s.labels["type"]): s.value for fam in parse(text)
               for s in fam.samples if s.name == "ucloud_image_bucket_images"}
        assert got == want


# -- command-line flags ------------------------------------------------------------------

FLAGS = ["--config.file", "--config.check", "--web.listen-address", "--web.telemetry-path",
         "--web.timeout-offset", "--log.level", "--log.format", "--demo", "--bogus", "-x"]
VALUES = ["", ":9787", "127.0.0.1:0", "[::1]:9787", ":99999", "host", "/metrics", "/",
          "metrics", "nan", "-1", "inf", "0.5", "debug", "loud", "json", "xml"]
argvs = st.lists(st.sampled_from(FLAGS) | st.sampled_from(VALUES) | st.text(max_size=8),
                 max_size=6)


@FUZZ
@given(argv=argvs)
def test_bad_flags_are_argparse_errors(argv):
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
            flags.parse_args(argv)
    except SystemExit as exc:
        assert exc.code == 2
        lines = stderr.getvalue().strip().split("\n")
        assert lines[0].startswith("usage: ucloud-image-exporter")
        assert lines[-1].startswith("ucloud-image-exporter: error: ")


@pytest.mark.parametrize("argv", [["--web.timeout-offset", "nan"],
                                  ["--web.listen-address", ":99999"],
                                  ["--config.file"], ["--log.format", "xml"]])
def test_bad_flags_exit_2_from_the_real_command(argv):
    result = run_cli(*argv)
    assert result.returncode == 2
    assert result.stderr.startswith("usage: ")
    assert "error: " in result.stderr and "Traceback" not in result.stderr


# -- any string from the API ------------------------------------------------------------

# Every code point, lone surrogates, NUL and control characters included, and long strings.
any_code_point = st.integers(0, 0x10FFFF).map(chr)
api_strings = (st.text(any_code_point, min_size=1, max_size=30)
               | st.text(st.sampled_from("\x00\x01\n\r\t\"\\\x7f\u2028\ud800\udfff"),
                         min_size=1, max_size=10)
               | st.builds(lambda c, n: c * n, any_code_point, st.just(100_000)))


def _listed(raw_names: list[str]) -> Listing:
    items = [{"BucketName": n, "BucketType": "Private", "ImageCount": i, "CreateTime": 1}
             for i, n in enumerate(raw_names)]
    body = json.dumps({"RetCode": 0, "TotalCount": len(items), "ImageSet": items}).encode()

    async def go() -> Listing:
        client = UCloudClient(UCloudSettings(base_url="https://api.example/"),
                              transport=httpx.MockTransport(
                                  lambda request: httpx.Response(200, content=body)))
        try:
            return await list_image_buckets(client, ACCOUNT, "cn-bj2",
                                            deadline=time.monotonic() + 10,
                                            observe=lambda action, reason: None)
        finally:
            await client.aclose()

    return asyncio.run(go())


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(raw_names=st.lists(api_strings, min_size=1, max_size=6))
@example(raw_names=["ok", "bad\ud800", "\x00nul", "pair\ud83d\ude00"])
def test_any_string_from_the_api_renders_and_parses_back(raw_names):
    listing = _listed(raw_names)
    want: dict[str, float] = {}
    for i, raw in enumerate(raw_names):
        want.setdefault(raw.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace"),
                        i)
    result = Result("main", "cn-bj2", listing.buckets, 0.1, 0.0)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(Families([result]))
    pages = [(per_bucket_text([result]).encode("utf-8"), text_string_to_metric_families),
             (generate_latest(registry), text_string_to_metric_families),
             (generate_openmetrics(registry), parse_openmetrics)]
    for page, parse in pages:  # every page encodes: no series costs another
        got = {s.labels["bucket"]: s.value for fam in parse(page.decode("utf-8"))
               for s in fam.samples if s.name == "ucloud_image_bucket_images"}
        assert got == want
