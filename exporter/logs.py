"""Structured log lines in logfmt or JSON, like the Go exporters' ``--log.format``."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "error": logging.ERROR,
}
_NAMES = {
    logging.DEBUG: "debug",
    logging.INFO: "info",
    logging.WARNING: "warn",
    logging.ERROR: "error",
    logging.CRITICAL: "error",
}
# Fields that callers pass with ``extra=`` and that belong in the line.
FIELDS = (
    "account",
    "project",
    "region",
    "reason",
    "action",
    "request_id",  # the gateway's X-UCLOUD-REQUEST-UUID of a failed answer
    "address",
    "port",
    "path",
    "event_loop",
)


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
        "level": _NAMES.get(record.levelno, "info"),
        "logger": record.name,
        "msg": record.getMessage(),
    }
    for key in FIELDS:
        if hasattr(record, key):
            out[key] = getattr(record, key)
    if record.exc_info:
        out["exc"] = logging.Formatter().formatException(record.exc_info)
    return out


def _logfmt_value(value: Any) -> str:
    text = str(value)
    if text and not any(c in text for c in ' ="\\\n\t'):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


class LogfmtFormatter(logging.Formatter):
    """Format records as ``key=value`` pairs."""

    def format(self, record: logging.LogRecord) -> str:
        """Return one logfmt line."""
        return " ".join(f"{k}={_logfmt_value(v)}" for k, v in _fields(record).items())


class JSONFormatter(logging.Formatter):
    """Format records as one JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        """Return one JSON line."""
        return json.dumps(_fields(record), ensure_ascii=False, default=str)


def setup(level: str, fmt: str, *, stream: Any = None) -> None:
    """Configure the root logger for ``level`` and ``fmt`` (logfmt or json)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JSONFormatter() if fmt == "json" else LogfmtFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(LEVELS[level])
    logging.getLogger("httpx").setLevel(max(LEVELS[level], logging.WARNING))
    logging.getLogger("httpcore").setLevel(max(LEVELS[level], logging.WARNING))
