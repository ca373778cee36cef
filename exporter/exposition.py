"""Write the /metrics and /probe bodies, per-bucket series with a specialised writer.

``prometheus_client`` renders every sample generically: it sorts the labels and escapes every
value of every line. The per-bucket series (two per bucket, so most of any large page) share
one label set, so their lines are written here from a per-target prefix: the same bytes, for a
fraction of the CPU (the render case of docs/benchmarks.md has the current ratio). Everything
else, content negotiation, OpenMetrics, gzip and ``name[]`` filtering included, stays with
``prometheus_client``; tests prove the written lines equal the library's for arbitrary names
and values in both formats.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import parse_qs

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder, gzip_accepted
from prometheus_client.metrics_core import Metric
from prometheus_client.utils import floatToGoString

from exporter.collector import PER_BUCKET_VALUES, bucket_families
from exporter.engine import Result

StartResponse = Callable[..., Any]
_EOF = b"# EOF\n"
_go_float: Callable[[float], str] = floatToGoString  # the library's own number format


def _escape(value: str) -> str:
    """Escape a label value (the same rule in the text format and OpenMetrics)."""
    if "\\" in value or "\n" in value or '"' in value:
        return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
    return value


def per_bucket_text(results: Sequence[Result]) -> str:
    """Return the HELP, TYPE and sample lines of the per-bucket gauges."""
    out: list[str] = []
    for family, value in PER_BUCKET_VALUES.items():
        name = family.name
        out.append(f"# HELP {name} {family.help}\n# TYPE {name} {family.type}\n")
        for r in results:
            if r.buckets is None:
                continue
            head = f'{name}{{account="{_escape(r.account)}",bucket="'
            middle = f'",region="{_escape(r.region)}",type="'
            out.extend(
                [
                    f'{head}{_escape(b.name)}{middle}{_escape(b.type)}"}} {_go_float(v)}\n'
                    for b in r.buckets
                    if b.name is not None and (v := value(b)) is not None
                ]
            )
    return "".join(out)


def render(
    environ: dict[str, Any],
    start_response: StartResponse,
    registry: CollectorRegistry,
    results: Sequence[Result],
) -> Iterable[bytes]:
    """Answer with ``registry``'s families plus the per-bucket series of ``results``."""
    encoder, content_type = choose_encoder(environ.get("HTTP_ACCEPT", ""))
    names = parse_qs(environ.get("QUERY_STRING", "")).get("name[]")
    if names:  # a filtered scrape: let the library write the families asked for
        wanted = set(names)
        chosen = [
            m
            for m in [*registry.collect(), *list(bucket_families(results))[1:]]
            if m.name in wanted or any(s.name in wanted for s in m.samples)
        ]
        filtered = CollectorRegistry(auto_describe=False)
        filtered.register(_Chosen(chosen))
        body = encoder(filtered)
    else:
        body = _splice(
            encoder(registry),
            per_bucket_text(results).encode(),
            openmetrics=content_type.startswith("application/openmetrics-text"),
        )
    headers = [("Content-Type", content_type)]
    if gzip_accepted(environ.get("HTTP_ACCEPT_ENCODING", "")):
        body = gzip.compress(body)
        headers.append(("Content-Encoding", "gzip"))
    headers.append(("Content-Length", str(len(body))))
    start_response("200 OK", headers)
    return [body]


def _splice(body: bytes, extra: bytes, *, openmetrics: bool) -> bytes:
    """Append ``extra`` families to an exposition, before OpenMetrics' final ``# EOF``."""
    if openmetrics and body.endswith(_EOF):
        return body[: -len(_EOF)] + extra + _EOF
    return body + extra


class _Chosen:
    """Already collected families, for a ``name[]`` scrape."""

    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterable[Metric]:
        """Return the families."""
        return self._families
