"""Write the images-inside-buckets families fast, each project's lines kept while its data is.

One series per image in four gauges (tags, updated, newest and oldest tag): 200,000 lines for
1,000 buckets of 50 images, rendered by ``prometheus_client`` in seconds per scrape. Yet they
change only when a refresh brings new data (``docker_images.refresh_seconds``, 10 minutes by
default), so each project's lines of each family are written once per refresh, kept as deflate
blocks (``exporter.deflate``) and copied into every page until the data changes: the same bytes
the library writes (a property test compares them in both formats), for the cost of a copy.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

from exporter import metrics
from exporter.deflate import Block, block
from exporter.exposition import escape, go_numbers
from exporter.metrics import Family
from exporter.sources import DockerImagesState, InsideBuckets
from exporter.ucloud import DockerImage

#: The per-image families, with the DockerImage field each one shows.
FAMILIES: dict[Family, str] = {
    metrics.DOCKER_IMAGE_TAGS: "tags",
    metrics.DOCKER_IMAGE_UPDATED: "updated",
    metrics.DOCKER_IMAGE_NEWEST_TAG: "newest_tag",
    metrics.DOCKER_IMAGE_OLDEST_TAG: "oldest_tag",
}


def image_pieces(
    states: Sequence[DockerImagesState], cache: ImageLines | None = None
) -> Iterator[bytes | Block]:
    """Yield each per-image family's HELP and TYPE lines, then each project's lines (blocks
    from ``cache`` when given, else bytes)."""
    held = [s for s in states if s.data is not None]
    for index, (family, field) in enumerate(FAMILIES.items()):
        yield f"# HELP {family.name} {family.help}\n# TYPE {family.name} {family.type}\n".encode()
        for s in held:
            if cache is None:
                yield _lines(family.name, s, field).encode()
            else:
                yield cache.blocks(s)[index]


def image_text(states: Sequence[DockerImagesState]) -> str:
    """Return the per-image lines as one string (for tests and benchmarks)."""
    return b"".join(p if isinstance(p, bytes) else b"" for p in image_pieces(states)).decode()


def image_series(states: Sequence[DockerImagesState]) -> int:
    """Return how many samples ``image_pieces`` writes (without writing them)."""
    return sum(image_counts(states, ImageLines()).values())


def image_counts(states: Sequence[DockerImagesState], cache: ImageLines) -> dict[str, int]:
    """Return how many samples ``image_pieces`` writes of each family (kept with the lines)."""
    totals = dict.fromkeys((f.name for f in FAMILIES), 0)
    for s in states:
        if s.data is not None:
            for name, n in zip(totals, cache.counts(s), strict=True):
                totals[name] += n
    return totals


class ImageLines:
    """Each project's lines of each per-image family, compressed, while its data stays the
    same object (a refresh replaces it; a scrape only reads it)."""

    def __init__(self) -> None:
        self._kept: dict[tuple[str, str], tuple[InsideBuckets, tuple[Block, ...]]] = {}
        self._counted: dict[tuple[str, str], tuple[InsideBuckets, tuple[int, ...]]] = {}
        self._lock = threading.Lock()

    def counts(self, state: DockerImagesState) -> tuple[int, ...]:
        """Return the project's number of samples of each family, counted once per data."""
        key, data = (state.account, state.project), state.data
        with self._lock:
            kept = self._counted.get(key)
        if kept is not None and kept[0] is data:
            return kept[1]
        images = [i for v in (data.buckets.values() if data else ()) for i in v]
        counts = tuple(
            sum(getattr(i, field) is not None for i in images) for field in FAMILIES.values()
        )
        if data is not None:
            with self._lock:
                self._counted[key] = (data, counts)
        return counts

    def blocks(self, state: DockerImagesState) -> tuple[Block, ...]:
        """Return the project's blocks, one per family, written again when its data changed."""
        key, data = (state.account, state.project), state.data
        with self._lock:
            kept = self._kept.get(key)
        if kept is not None and kept[0] is data:
            return kept[1]
        blocks = tuple(
            block(_lines(f.name, state, field).encode()) for f, field in FAMILIES.items()
        )
        if data is not None:
            with self._lock:
                self._kept[key] = (data, blocks)
        return blocks

    def retain(self, states: Sequence[DockerImagesState]) -> None:
        """Forget every project but those of ``states`` that hold data."""
        keys = {(s.account, s.project) for s in states if s.data is not None}
        with self._lock:
            self._kept = {k: v for k, v in self._kept.items() if k in keys}
            self._counted = {k: v for k, v in self._counted.items() if k in keys}


def _lines(name: str, state: DockerImagesState, field: str) -> str:
    """Return one project's lines of family ``name`` (labels in the library's sorted order:
    account, bucket, image, project, region), images in bucket order, without None values."""
    if state.data is None:
        return ""
    account, project = escape(state.account), escape(state.project)
    parts: list[str] = []
    for (region, bucket), images in sorted(state.data.buckets.items()):
        head = f'{name}{{account="{account}",bucket="{escape(bucket)}",image="'
        tail = f'",project="{project}",region="{escape(region)}"}} '
        chosen: list[DockerImage] = [i for i in images if getattr(i, field) is not None]
        if not chosen:
            continue
        values = go_numbers(getattr(i, field) for i in chosen)
        for image, value in zip(chosen, values, strict=True):
            parts += (head, escape(image.name), tail, value or "")
    return "".join(parts)
