"""Write the /metrics and /probe bodies, per-bucket series with a specialised writer.

``prometheus_client`` renders every sample generically: it sorts the labels and escapes every
value of every line. The per-bucket series (two per bucket, so most of any large page) share
one label set, so their lines are written here from a per-target prefix: the same bytes, for a
fraction of the CPU (the render case of docs/benchmarks.md has the current ratio). Everything
else, content negotiation, OpenMetrics and ``name[]`` filtering included, stays with
``prometheus_client``; tests prove the written lines equal the library's for arbitrary names
and values in both formats.

Memory and CPU (issue 14): the answer is a list of chunks; no whole-page ``str`` or second copy
of the body exists (the compact case of docs/benchmarks.md). Each target's lines are kept
compressed (``LineCache``, ``exporter/deflate.py``) while its buckets stay the same: a gzip
answer copies them, a plain one inflates them.

The series budget (issue 22): an account's ``buckets`` filter (``filters``, by account name)
keeps the buckets it does not want out of the per-bucket families (they still count in
``ucloud_image_buckets``), and ``left_out`` families (``exporter.budget``) are not written at
all. ``per_bucket_counts`` counts the series from the columns, without writing them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import Metric
from prometheus_client.utils import floatToGoString

from exporter.collector import PER_BUCKET_VALUES, bucket_families
from exporter.deflate import HEADER, Block, Gzip, block, inflate, inflate_chunks
from exporter.results import Result
from exporter.ucloud import Buckets, as_columns
from exporter.validation import EVERY_NAME, NameFilter

#: Each account's ``buckets`` filter, by account name (an account not in it: every bucket).
Filters = Mapping[str, NameFilter]

_EOF = b"# EOF\n"
CHUNK_BYTES = 256 * 1024  # an answer's chunks are about this size (one target's lines if more)
_go_float: Callable[[float], str] = floatToGoString  # the library's own number format


def escape(value: str) -> str:
    """Escape a label value (the same rule in the text format and OpenMetrics)."""
    if "\\" in value or "\n" in value or '"' in value:
        return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
    return value


def per_bucket_chunks(
    results: Sequence[Result],
    cache: LineCache | None = None,
    *,
    filters: Filters | None = None,
    left_out: Collection[str] = (),
) -> Iterator[bytes]:
    """Yield the HELP, TYPE and sample lines of the per-bucket gauges, one target at a time.

    Each target's lines are encoded as soon as they are written: the page never exists as one
    ``str``, and a caller that keeps the chunks (or their gzip) holds the page once. With a
    ``cache``, a target whose buckets are what they were last time gets its lines from it.
    ``filters``: each account's bucket filter; ``left_out``: families not written at all.
    """
    for piece in _pieces(results, cache, filters, left_out):
        yield inflate(piece) if isinstance(piece, Block) else piece


def per_bucket_counts(
    results: Sequence[Result], filters: Filters | None = None, cache: LineCache | None = None
) -> dict[str, int]:
    """Return the series of each per-bucket family (by name) that ``per_bucket_chunks`` would
    write, counted from the buckets' columns (a filtered account's choice is kept in
    ``cache``, so counting and writing select its buckets once)."""
    counts = dict.fromkeys((f.name for f in PER_BUCKET_VALUES), 0)
    for r in results:
        if r.buckets is None:
            continue
        buckets = _chosen(r, filters, cache)
        for family, field in PER_BUCKET_VALUES.items():
            counts[family.name] += buckets.valued(field)
    return counts


def _wanted(result: Result, filters: Filters | None) -> NameFilter:
    return EVERY_NAME if filters is None else filters.get(result.account, EVERY_NAME)


def _chosen(result: Result, filters: Filters | None, cache: LineCache | None) -> Buckets:
    """Return the result's buckets its account's filter wants (all when it has none)."""
    buckets, wanted = as_columns(result.buckets or ()), _wanted(result, filters)
    if wanted.everything:
        return buckets
    if cache is not None:
        return cache.chosen(result.key, buckets, wanted)
    return buckets.select(_keeper(wanted))


def _keeper(wanted: NameFilter) -> Callable[[str | None], bool]:
    return lambda name: name is not None and wanted.wants(name)


def _pieces(
    results: Sequence[Result],
    cache: LineCache | None,
    filters: Filters | None = None,
    left_out: Collection[str] = (),
) -> Iterator[bytes | Block]:
    """Yield the per-bucket families: HELP and TYPE lines, then each target's lines."""
    for index, (family, field) in enumerate(PER_BUCKET_VALUES.items()):
        name = family.name
        if name in left_out:
            continue
        yield f"# HELP {name} {family.help}\n# TYPE {name} {family.type}\n".encode()
        for r in results:
            if r.buckets is None:
                continue
            if cache is None:
                yield _target_lines(name, r, field, _chosen(r, filters, None)).encode()
            else:
                yield cache.blocks(r, _wanted(r, filters))[index]


_Kept = tuple[NameFilter, Buckets, tuple[Block, ...]]  # filter, its buckets, their lines


class LineCache:
    """Each target's per-bucket lines (both families), compressed, while its buckets stay.

    A target is keyed by account, project and region; its lines are reused when the result's buckets
    are the same object (a cached collection, concurrent scrapes) or equal column for column
    (a fresh listing of an unchanged target: one C-level comparison instead of a render). The
    newest equal ``Buckets`` replaces the kept one, so only the engine's copy stays alive.
    Lines are kept as deflate blocks (about a tenth of their size): a gzip answer copies them.

    The lines are of the buckets the account's filter wants: the filter is part of what is
    compared (a reload that changes it never serves the old lines), and a filtered target's
    choice of buckets is kept too (``chosen``) while its listing and the filter stay.
    """

    def __init__(self) -> None:
        self._kept: dict[tuple[str, str, str], _Kept] = {}
        self._chosen: dict[tuple[str, str, str], tuple[Buckets, NameFilter, Buckets]] = {}
        self._lock = threading.Lock()

    def chosen(self, key: tuple[str, str, str], buckets: Buckets, wanted: NameFilter) -> Buckets:
        """Return the target ``key``'s ``buckets`` that ``wanted`` keeps, chosen again only when
        the buckets or the filter changed."""
        with self._lock:
            kept = self._chosen.get(key)
        if kept is not None and kept[1] == wanted and (kept[0] is buckets or kept[0] == buckets):
            return kept[2]
        chosen = buckets.select(_keeper(wanted))
        with self._lock:
            self._chosen[key] = (buckets, wanted, chosen)
        return chosen

    def blocks(self, result: Result, wanted: NameFilter = EVERY_NAME) -> tuple[Block, ...]:
        """Return the target's lines of each per-bucket family (of the buckets ``wanted``
        keeps), written again when the buckets or the filter changed."""
        key, source = result.key, as_columns(result.buckets or ())
        buckets = source if wanted.everything else self.chosen(key, source, wanted)
        with self._lock:
            kept = self._kept.get(key)
        if kept is not None and kept[0] == wanted and (kept[1] is buckets or kept[1] == buckets):
            blocks = kept[2]
        else:
            families = PER_BUCKET_VALUES.items()
            blocks = tuple(
                block(_target_lines(f.name, result, c, buckets).encode()) for f, c in families
            )
        with self._lock:
            self._kept[key] = (wanted, buckets, blocks)
        return blocks

    def retain(self, targets: Iterable[tuple[str, str, str]]) -> None:
        """Forget every target but ``targets`` (account, project, region: the ones known)."""
        keys = set(targets)
        with self._lock:
            self._kept = {k: v for k, v in self._kept.items() if k in keys}
            self._chosen = {k: v for k, v in self._chosen.items() if k in keys}


def _target_lines(name: str, result: Result, field: str, buckets: Buckets | None = None) -> str:
    """Return one target's lines of family ``name`` (the value column ``field``) for
    ``buckets`` (the result's own by default).

    A line is four pieces: the target's head, the bucket's escaped name, the rest of the
    labels (one string per bucket type) and the value with its newline. The pieces are laid
    out by slice assignment and joined once, so the per-line work happens in C.
    """
    buckets = as_columns(result.buckets or ()) if buckets is None else buckets
    head = f'{name}{{account="{escape(result.account)}",bucket="'
    rest = f'",project="{escape(result.project)}",region="{escape(result.region)}",type="'
    middles = [f'{rest}{escape(kind)}"}} ' for kind in buckets.kinds]
    columns: tuple[Sequence[str | None], ...] = (
        _escaped(buckets.names),
        list(map(middles.__getitem__, buckets.codes)),
        go_numbers(buckets.column(field)),
    )
    if None in columns[0] or None in columns[2]:  # a bucket without a name or this value
        kept = [row for row in zip(*columns, strict=True) if None not in row]
        columns = tuple(zip(*kept, strict=True)) if kept else ((), (), ())
    parts: list[Any] = [head] * (4 * len(columns[0]))
    parts[1::4], parts[2::4], parts[3::4] = columns
    return "".join(parts)


def _escaped(names: Sequence[str | None]) -> Sequence[str | None]:
    """Return the label values escaped (``names`` itself when none needs it)."""
    joined = "".join(map(str, names))
    if "\\" in joined or "\n" in joined or '"' in joined:
        return [None if n is None else escape(n) for n in names]
    return names


# Go's float format writes an integer of k >= 7 digits as "d.ddd" and an exponent suffix,
# taken here from the library itself (10 ** (k - 1) is written "1" and that suffix).
_GO_EXPONENT = ["" if k < 7 else _go_float(10 ** (k - 1))[1:] + "\n" for k in range(17)]
_EXACT_FLOAT = 2**53  # below it every int is a float exactly, and has at most 16 digits


def go_numbers(values: Iterable[int | None]) -> list[str | None]:
    """Write each value as ``floatToGoString`` does, with a newline; None stays None.

    The library converts to float and applies Go's rules (``1.7e+09`` from a million on).
    For ints below 2**53 the same digits come from ``str``; larger ones go to the library.
    """
    cells = list(values)
    ints = cast(list[int], cells)  # until None is found in them
    if None in cells or (ints and (min(ints) < 0 or max(ints) >= _EXACT_FLOAT)):
        return [None if v is None else f"{_go_float(v)}\n" for v in cells]
    return [
        f"{s}.0\n" if len(s) < 7 else f"{s[0]}.{s[1:]}".rstrip("0.") + _GO_EXPONENT[len(s)]
        for s in map(str, cells)
    ]


def per_bucket_text(results: Sequence[Result]) -> str:
    """Return the per-bucket lines as one string (for tests and benchmarks, not for serving)."""
    return b"".join(per_bucket_chunks(results)).decode()


@dataclass(frozen=True, slots=True)
class Page:
    """One answer's body, built once and written as each client reads it.

    ``parts`` are plain bytes and, in a plain answer, the cache's deflate blocks (inflated a
    chunk at a time while sent); a gzip answer's parts are all bytes, the copied blocks the
    cache's own objects. Either way a page costs its head and the pieces around the cached
    lines, and a client that stops reading holds about one chunk of it.
    """

    content_type: str
    gzip: bool
    parts: tuple[bytes | Block, ...]
    length: int  # bytes on the wire

    def headers(self) -> list[tuple[str, str]]:
        """Return the answer's headers."""
        headers = [("Content-Type", self.content_type)]
        if self.gzip:
            headers.append(("Content-Encoding", "gzip"))
        return [*headers, ("Content-Length", str(self.length))]

    def chunks(self) -> Iterator[bytes]:
        """Yield the body in chunks of about ``CHUNK_BYTES``, made as they are asked for."""
        return _coalesce(_slices(self.parts))


def render(
    registry: CollectorRegistry,
    results: Sequence[Result],
    cache: LineCache | None = None,
    *,
    accept: str = "",
    gzip: bool = False,
    names: Sequence[str] = (),
    filters: Filters | None = None,
    left_out: Collection[str] = (),
    extra: Iterable[bytes | Block] = (),
) -> Page:
    """Return the page of ``registry``'s families plus the per-bucket series of ``results``.

    ``accept`` picks the format as ``prometheus_client`` does; ``gzip`` makes one gzip member
    (then no plain copy of the page is made: ``cache``'s blocks are copied, the rest compressed
    piece by piece); ``names`` (``name[]``) filters the families. ``filters``: each account's
    bucket filter (per-bucket series only); ``left_out``: per-bucket families not written
    (the series budget; the registry's families are the caller's to choose). ``extra``: more
    families' pieces, written last on a page that is not filtered by ``names`` (a filtered
    page takes them from ``registry``).
    """
    encoder, content_type = choose_encoder(accept)
    if names:  # a filtered scrape: let the library write the families asked for
        wanted = set(names)
        chosen = [
            m
            for m in [*registry.collect(), *_asked_per_bucket(results, filters, wanted, left_out)]
            if m.name in wanted or any(s.name in wanted for s in m.samples)
        ]
        filtered = CollectorRegistry(auto_describe=False)
        filtered.register(_Chosen(chosen))
        page: Iterable[bytes | Block] = [encoder(filtered)]
    else:
        page = _page(
            encoder(registry),
            results,
            cache,
            filters,
            left_out,
            extra=extra,
            openmetrics=content_type.startswith("application/openmetrics-text"),
        )
    parts = tuple(_gzip(page)) if gzip else tuple(_kept(p) for p in page if p)
    length = sum(len(p) if isinstance(p, bytes) else p.size for p in parts)
    return Page(content_type, gzip, parts, length)


def _page(
    head: bytes,
    results: Sequence[Result],
    cache: LineCache | None,
    filters: Filters | None,
    left_out: Collection[str],
    *,
    extra: Iterable[bytes | Block],
    openmetrics: bool,
) -> Iterator[bytes | Block]:
    """Yield ``head``, the per-bucket families and ``extra``, before OpenMetrics' ``# EOF``."""
    eof = openmetrics and head.endswith(_EOF)
    yield head[: -len(_EOF)] if eof else head
    yield from _pieces(results, cache, filters, left_out)
    yield from extra
    if eof:
        yield _EOF


def _gzip(pieces: Iterable[bytes | Block]) -> Iterator[bytes]:
    """Write ``pieces`` as one gzip member: blocks copied, plain pieces compressed."""
    member = Gzip()
    yield HEADER
    for piece in pieces:
        yield member.copy(piece) if isinstance(piece, Block) else member.plain(piece)
    yield member.finish()


def _kept(part: bytes | Block) -> bytes | Block:
    """Return how a plain page keeps ``part`` until sent: longer than a chunk, compressed
    (the library's part of a page, with thousands of UHub images, or a ``name[]`` page)."""
    return block(part) if isinstance(part, bytes) and len(part) > CHUNK_BYTES else part


def _slices(parts: Iterable[bytes | Block]) -> Iterator[bytes]:
    """Yield ``parts`` as bytes of at most ``CHUNK_BYTES``: blocks inflated, big bytes cut."""
    for part in parts:
        if isinstance(part, Block):
            yield from inflate_chunks(part, CHUNK_BYTES)
        elif len(part) <= CHUNK_BYTES:
            yield part
        else:
            view = memoryview(part)
            for start in range(0, len(part), CHUNK_BYTES):
                yield bytes(view[start : start + CHUNK_BYTES])


def _coalesce(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Join small chunks up to ``CHUNK_BYTES`` (fewer messages to the server); skip empty ones."""
    pending: list[bytes] = []
    size = 0
    for chunk in chunks:
        if not chunk:
            continue
        pending.append(chunk)
        size += len(chunk)
        if size >= CHUNK_BYTES:
            yield pending[0] if len(pending) == 1 else b"".join(pending)
            pending, size = [], 0
    if pending:
        yield b"".join(pending)


def _asked_per_bucket(
    results: Sequence[Result], filters: Filters | None, wanted: set[str], left_out: Collection[str]
) -> list[Metric]:
    """Return the per-bucket families a ``name[]`` scrape asks for and the budget keeps (none
    built when none is)."""
    asked = {f.name for f in PER_BUCKET_VALUES if f.name in wanted and f.name not in left_out}
    if not asked:
        return []
    return [m for m in list(bucket_families(results, filters))[1:] if m.name in asked]


class _Chosen:
    """Already collected families, for a ``name[]`` scrape."""

    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterable[Metric]:
        """Return the families."""
        return self._families
