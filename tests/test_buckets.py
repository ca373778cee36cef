"""Buckets held as columns read back exactly the Bucket rows they were built from."""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from exporter.ucloud import Bucket, Buckets, as_columns

counts = st.none() | st.integers(0, 2**63 - 1) | st.integers(-(2**70), 2**70)
rows = st.lists(
    st.builds(
        Bucket,
        name=st.none() | st.text(max_size=10),
        type=st.sampled_from(["private", "public", "unknown"]) | st.text(max_size=3),
        images=counts,
        created=counts,
    ),
    max_size=20,
)


@given(rows=rows)
def test_columns_read_back_every_row(rows):
    buckets = Buckets(rows)
    assert len(buckets) == len(rows)
    assert list(buckets) == rows
    assert [buckets[i] for i in range(len(rows))] == rows
    assert list(buckets[1:-1]) == rows[1:-1]
    assert buckets == tuple(rows) and buckets == Buckets(iter(rows))
    assert list(buckets.column("images")) == [b.images for b in rows]
    assert list(buckets.column("created")) == [b.created for b in rows]
    assert list(buckets.types()) == [b.type for b in rows]
    assert buckets.type_counts() == Counter(b.type for b in rows)
    kept = buckets.select(lambda name: name is not None and name.startswith("a"))
    assert list(kept) == [b for b in rows if b.name is not None and b.name.startswith("a")]


def test_as_columns_keeps_columns_and_packs_anything_else():
    buckets = Buckets([Bucket("a", "private", 1, None)])
    assert as_columns(buckets) is buckets
    assert buckets.select(lambda _: True) is buckets
    assert as_columns((Bucket("a", "private", 1, None),)) == buckets


@given(a=rows, b=rows)
def test_equal_columns_are_equal_rows(a, b):
    assert (Buckets(a) == Buckets(b)) == (a == b)
    columns = (
        [x.name for x in a],
        [x.type for x in a],
        [x.images for x in a],
        [x.created for x in a],
    )
    assert Buckets.from_columns(*columns) == Buckets(a)
    assert list(Buckets.from_columns(*columns)) == a
