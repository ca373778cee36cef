"""Gzip members put together from blocks compressed once read back as the data, CRC checked."""

from __future__ import annotations

import gzip
import zlib

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from exporter.deflate import HEADER, Block, Gzip, block, inflate
from tests.support.examples import examples

pieces = st.lists(
    st.tuples(st.booleans(), st.binary(max_size=3000) | st.text(max_size=500).map(str.encode)),
    max_size=8,
)


def member(parts: list[tuple[bool, bytes]]) -> bytes:
    """Write ``parts`` (as a block or as plain data) as one gzip member."""
    writer = Gzip()
    body = [HEADER]
    for as_block, data in parts:
        body.append(writer.copy(block(data)) if as_block else writer.plain(data))
    return b"".join([*body, writer.finish()])


@settings(max_examples=examples(200), deadline=None)
@given(parts=pieces)
def test_a_member_of_copied_blocks_and_plain_pieces_is_the_data(parts):
    data = b"".join(d for _, d in parts)
    written = member(parts)
    assert gzip.decompress(written) == data  # checks the CRC-32 and the size too
    assert zlib.decompress(written, 31) == data
    # Prometheus is Go; here httpx's decoder, as the tests' scrapes read answers.
    answer = httpx.Response(200, headers={"Content-Encoding": "gzip"}, content=written)
    assert answer.read() == data


@given(data=st.binary(max_size=5000))
def test_a_block_inflates_to_its_data(data):
    b = block(data)
    assert isinstance(b, Block) and b.size == len(data) and inflate(b) == data


def test_blocks_larger_than_the_zero_buffer_fold_their_crc():
    big = bytes(range(256)) * 9000  # 2.3 MB, more than the 1 MiB of zeros folded at a time
    parts = [(False, b"head\n"), (True, big), (True, b"tail\n" * 3), (False, b"")]
    assert gzip.decompress(member(parts)) == b"head\n" + big + b"tail\n" * 3
    assert len(member(parts)) < len(big) // 5  # compressed, not stored
