"""The images-inside-buckets writer produces exactly prometheus_client's bytes, and keeps each
project's lines while its data is the same object."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as om_generate_latest

from exporter.collector import docker_families
from exporter.deflate import inflate
from exporter.imagelines import FAMILIES, ImageLines, image_pieces, image_series, image_text
from exporter.sources import DockerImagesState, InsideBuckets
from exporter.stats import Stats
from exporter.ucloud import DockerImage
from tests.support.examples import examples

text = st.text(st.characters(codec="utf-8"), max_size=20)
values = st.none() | st.integers(0, 2**64) | st.sampled_from([0, 10**6, 1_700_000_123, 2**53])
images = st.builds(
    DockerImage, name=text, tags=values, newest_tag=values, oldest_tag=values, updated=values
)
places = st.tuples(text, text)
data = st.builds(
    InsideBuckets,
    buckets=st.dictionaries(places, st.lists(images, max_size=4).map(tuple), max_size=4),
)
states = st.lists(
    st.builds(DockerImagesState, account=text, project=text, up=st.just(True),
              data=st.none() | data),
    max_size=3,
    unique_by=lambda s: (s.account, s.project),
)  # fmt: skip
NAMES = {f.name for f in FAMILIES}


class _PerImage:
    def __init__(self, states):
        self._states = states

    def collect(self):
        return [f for f in docker_families(self._states, Stats()) if f.name in NAMES]


def library(states, encoder):
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_PerImage(states))
    return encoder(registry).decode().removesuffix("# EOF\n")


@settings(max_examples=examples(300), deadline=None)
@given(states=states)
def test_writer_matches_the_library_in_both_formats(states):
    written = image_text(states)
    assert written == library(states, generate_latest)
    assert written == library(states, om_generate_latest)
    assert image_series(states) == sum(
        1 for line in written.split("\n") if line and not line.startswith("#")
    )


@settings(max_examples=examples(50), deadline=None)
@given(states=states)
def test_cached_lines_are_the_lines_written_afresh(states):
    cache = ImageLines()
    for _ in range(2):
        pieces = [p if isinstance(p, bytes) else inflate(p) for p in image_pieces(states, cache)]
        assert b"".join(pieces).decode() == image_text(states)


def test_a_project_keeps_its_lines_until_its_data_changes():
    one = InsideBuckets({("r", "b"): (DockerImage("i", 2, 3, 1, 4),)})
    state = DockerImagesState("a", "p", up=True, data=one)
    cache = ImageLines()
    first = cache.blocks(state)
    assert cache.blocks(DockerImagesState("a", "p", up=False, data=one)) is first
    two = InsideBuckets({("r", "b"): (DockerImage("i", 3, 3, 1, 4),)})
    again = cache.blocks(DockerImagesState("a", "p", up=True, data=two))
    assert again is not first and b'image="i"' in inflate(again[0])
    cache.retain([])
    assert cache.blocks(DockerImagesState("a", "p", up=True, data=two)) is not again
