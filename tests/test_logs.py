"""The log formats in process: logfmt and JSON lines, escaping, the fields passed with extra=."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from exporter import logs


@pytest.fixture
def root_restored() -> Iterator[logging.Logger]:
    """Yield the root logger; put its handlers and levels back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    quiet = {name: logging.getLogger(name).level for name in ("httpx", "httpcore")}
    try:
        yield root
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, was in quiet.items():
            logging.getLogger(name).setLevel(was)


def line(fmt: str, level: int, msg: str, *args: object, **extra: object) -> str:
    """Return what ``logs.setup(..., fmt)`` writes for one record."""
    stream = io.StringIO()
    logs.setup("debug", fmt, stream=stream)
    logging.getLogger("exporter.test").log(level, msg, *args, extra=extra)
    return stream.getvalue()


def test_logfmt_fields_in_order_and_escaped(root_restored: logging.Logger) -> None:
    text = line(
        "logfmt",
        logging.WARNING,
        "listing %s failed",
        "cn-bj2",
        account="a b",
        region="cn-bj2",
        reason='quote"d\\slash',
        other="not a field",
    )
    assert text.endswith("\n") and text.count("\n") == 1
    assert text.startswith("ts=") and " level=warn logger=exporter.test " in text
    assert text.rstrip("\n").endswith(
        'msg="listing cn-bj2 failed" account="a b" region=cn-bj2 reason="quote\\"d\\\\slash"'
    )
    assert "other" not in text


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("plain", "plain"),
        ("", '""'),
        ("two\nlines", '"two\\nlines"'),
        ("tab\there", '"tab\there"'),
        ("a=b", '"a=b"'),
        ("镜像", "镜像"),
        (42, "42"),
    ],
)
def test_logfmt_values(root_restored: logging.Logger, value: object, written: str) -> None:
    assert line("logfmt", logging.INFO, "m", path=value).rstrip("\n").endswith(f" path={written}")


def test_json_lines_carry_the_same_fields(root_restored: logging.Logger) -> None:
    text = line("json", logging.ERROR, 'bad "%s"\n', "镜像", account="a", port=9787)
    assert text.count("\n") == 1 and "镜像" in text  # one line, not ASCII-escaped
    record = json.loads(text)
    assert list(record) == ["ts", "level", "logger", "msg", "account", "port"]
    assert record["level"] == "error" and record["msg"] == 'bad "镜像"\n'
    assert (record["account"], record["port"]) == ("a", 9787)
    assert record["ts"].endswith("+00:00") and "." in record["ts"]


def test_exceptions_and_levels(root_restored: logging.Logger) -> None:
    stream = io.StringIO()
    logs.setup("warn", "json", stream=stream)
    log = logging.getLogger("exporter.test")
    log.info("hidden")
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("caught")
    log.critical("worst")
    records = [json.loads(text) for text in stream.getvalue().splitlines()]
    assert [(r["level"], r["msg"]) for r in records] == [("error", "caught"), ("error", "worst")]
    assert "Traceback" in records[0]["exc"] and "ValueError: boom" in records[0]["exc"]
    assert root_restored.level == logging.WARNING


def test_debug_keeps_http_client_chatter_out(root_restored: logging.Logger) -> None:
    logs.setup("debug", "logfmt", stream=io.StringIO())
    assert root_restored.level == logging.DEBUG
    assert logging.getLogger("httpx").level == logging.WARNING
    assert logging.getLogger("httpcore").level == logging.WARNING


def test_the_gateway_s_request_id_is_a_field(root_restored: logging.Logger) -> None:
    rid = "3f1c2a9e-7b4d-4c1e-9a55-0d6e8f2b7c11"
    text = line("logfmt", logging.WARNING, "failed", account="a", reason="http_503", request_id=rid)
    assert text.rstrip("\n").endswith(f"account=a reason=http_503 request_id={rid}")
    record = json.loads(line("json", logging.WARNING, "failed", request_id=rid))
    assert record["request_id"] == rid
