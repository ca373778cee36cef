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
from pathlib import Path

import httpx
import pytest
import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from exporter import config, flags
from exporter.config import ConfigError, UCloudSettings
from exporter.ucloud import Listing, UCloudClient, UCloudError, list_image_buckets
from tests.support.inprocess import ACCOUNT, FUZZ, json_values
from tests.support.procs import run_cli

END = {"RetCode": 0, "ImageSet": []}

# -- API response bodies -----------------------------------------------------------------

counts = st.integers(-3, 50) | json_values
entries = st.fixed_dictionaries(
    {},
    optional={
        "BucketName": st.text(max_size=30) | json_values,
        "BucketType": st.sampled_from(["Private", "Public", "", "PRIVATE"]) | json_values,
        "ImageCount": counts,
        "CreateTime": counts,
    },
)
api_bodies = st.fixed_dictionaries(
    {"RetCode": st.sampled_from([0, 0, 0, 150, 171, 2000]) | json_values},
    optional={
        "TotalCount": st.integers(-2, 10**15) | json_values,
        "ImageSet": st.lists(entries | json_values, max_size=6) | json_values,
        "Message": json_values,
        "Action": json_values,
    },
)
answers = st.tuples(
    st.sampled_from([200, 200, 200, 200, 429, 500, 404]),
    st.one_of(
        st.binary(max_size=300),
        json_values.map(lambda v: json.dumps(v).encode()),
        api_bodies.map(lambda v: json.dumps(v).encode()),
    ),
)


def run_listing(script: list[tuple[int, bytes]], page_size: int, retries: int) -> object:
    """List against a gateway answering ``script`` in order, then empty pages."""
    settings_ = UCloudSettings(
        base_url="https://api.example/", page_size=page_size, retries=retries, timeout_seconds=2
    )
    queue = list(script)

    def handler(request: httpx.Request) -> httpx.Response:
        status, body = queue.pop(0) if queue else (200, json.dumps(END).encode())
        return httpx.Response(status, content=body)

    async def no_sleep(_: float) -> None:
        await asyncio.sleep(0)

    async def go() -> object:
        client = UCloudClient(
            settings_, transport=httpx.MockTransport(handler), rng=random.Random(0), sleep=no_sleep
        )
        try:
            return await list_image_buckets(
                client, ACCOUNT, "r", deadline=time.monotonic() + 5, observe=lambda *_: None
            )
        except UCloudError as exc:
            return exc
        finally:
            await client.aclose()

    return asyncio.run(go())


@FUZZ
@given(
    script=st.lists(answers, min_size=1, max_size=5),
    page_size=st.integers(1, 4),
    retries=st.integers(0, 2),
)
@example(script=[(200, b"[" * 100_000)], page_size=1, retries=0)
@example(script=[(200, b'{"RetCode": ' + b"1" * 5000 + b"}")], page_size=1, retries=0)
@example(
    script=[
        (
            200,
            b'{"RetCode": 0, "TotalCount": 1000000000000, "ImageSet": '
            b'[{"BucketName": "b", "BucketType": "Private", "ImageCount": 1, '
            b'"CreateTime": 1}]}',
        )
    ],
    page_size=1,
    retries=0,
)
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
junk = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=12)
    | st.lists(st.text(max_size=6), max_size=3)
    | st.dictionaries(st.text(max_size=6), st.integers(), max_size=2)
)
key_files = st.sampled_from(["key.txt", "empty.txt", "missing.txt", ".", "~nobody/k"]) | st.text(
    max_size=12
)
account = st.fixed_dictionaries(
    {},
    optional={
        "name": st.sampled_from(["main", "a.b:c-1", "", "bad name", "x" * 70]) | junk,
        "public_key": st.sampled_from(["pub", " ", ""]) | junk,
        "private_key": st.just(SECRET) | junk,
        "public_key_file": key_files,
        "private_key_file": key_files,
        "project_id": st.just("org-1") | junk,
        "regions": st.just("auto")
        | st.lists(st.sampled_from(["cn-bj2", "hk", "Bad", "cn-bj2"]) | junk, max_size=3)
        | junk,
        "bucket_type": st.sampled_from(["All", "User", "Share", "all"]) | junk,
        "bucket_name": junk,
        "extra": junk,
    },
)
sections = {
    "ucloud": st.fixed_dictionaries(
        {},
        optional={
            "base_url": st.sampled_from(["http://127.0.0.1:1/", "ftp://x", "https://"]) | junk,
            "timeout_seconds": junk,
            "page_size": st.integers(-1, 1001) | junk,
            "max_concurrent_requests": junk,
            "retries": junk,
            "bogus": junk,
        },
    )
    | junk,
    "collect": st.fixed_dictionaries(
        {},
        optional={
            "min_interval_seconds": junk,
            "region_refresh_seconds": junk,
            "include_buckets": st.lists(st.sampled_from(["a.*", "(", "[z-a]"]) | junk, max_size=3)
            | junk,
            "exclude_buckets": junk,
        },
    )
    | junk,
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
@example(
    data={
        "accounts": [
            {"name": "a", "public_key": "p", "private_key_file": "k\x00", "regions": ["hk"]}
        ]
    }
)  # ValueError: embedded null byte
def test_structured_yaml_loads_or_is_a_config_error(confdir, data):
    path = confdir / "config.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    check_load(path)


@FUZZ
@given(
    text=st.text(
        alphabet=st.sampled_from(list("ab:-_ [],{}\n\t'\"#&*!|>%@`?\\0123.~")) | st.characters(),
        max_size=120,
    )
)
@example(text="ucloud: {timeout_seconds: 2001-13-01}")  # ValueError from the date constructor
@example(text="a: " + "[" * 5000)  # RecursionError in the YAML parser
def test_yaml_text_loads_or_is_a_config_error(confdir, text):
    path = confdir / "text.yaml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    check_load(path)


# -- command-line flags ------------------------------------------------------------------

FLAGS = [
    "--config.file",
    "--config.check",
    "--web.listen-address",
    "--web.telemetry-path",
    "--web.timeout-offset",
    "--log.level",
    "--log.format",
    "--demo",
    "--bogus",
    "-x",
]
VALUES = [
    "",
    ":9787",
    "127.0.0.1:0",
    "[::1]:9787",
    ":99999",
    "host",
    "/metrics",
    "/",
    "metrics",
    "nan",
    "-1",
    "inf",
    "0.5",
    "debug",
    "loud",
    "json",
    "xml",
]
argvs = st.lists(st.sampled_from(FLAGS) | st.sampled_from(VALUES) | st.text(max_size=8), max_size=6)


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


@pytest.mark.e2e
@pytest.mark.parametrize(
    "argv",
    [
        ["--web.timeout-offset", "nan"],
        ["--web.listen-address", ":99999"],
        ["--config.file"],
        ["--log.format", "xml"],
    ],
)
def test_bad_flags_exit_2_from_the_real_command(argv):
    result = run_cli(*argv)
    assert result.returncode == 2
    assert result.stderr.startswith("usage: ")
    assert "error: " in result.stderr and "Traceback" not in result.stderr
