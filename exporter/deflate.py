"""Gzip answers put together from deflate blocks compressed once, with zlib.

A gzip member (RFC 1952) is a 10-byte header, one deflate stream (RFC 1951) and a trailer with
the CRC-32 and the size of the data. A deflate stream is a run of blocks, and a compressor
flushed with ``Z_SYNC_FLUSH`` ends on a byte boundary without marking its last block final:
blocks of independent compressors, each referring only to its own data, can follow each other
in one stream (as pigz does). So each target's lines are compressed once, when written, and
every later gzip answer copies them; only the short pieces around them (the registry's part,
HELP and TYPE lines) are compressed per answer, by one compressor reset (``Z_FULL_FLUSH``)
after each piece so that nothing refers across a copied block.

The CRC of the whole is folded block by block: for data B of n bytes after data A,
``crc(A+B) = crc32(n zero bytes, crc(A)) ^ crc(n zero bytes) ^ crc(B)``; the last two terms
are kept with the block (``Block.fold``), the first costs one pass of zlib's CRC over zeros.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

LEVEL = 1  # zlib's fastest: 6x less CPU than gzip.compress's 9 for ~10 % more bytes
RAW = -15  # a deflate stream without zlib's or gzip's framing
# ID1 ID2, CM (deflate), FLG none, MTIME 0 (none), XFL 4 (fastest), OS 255 (unknown)
HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x04\xff"
_ZEROS = memoryview(bytes(1 << 20))
INFLATE_STEP = 256 * 1024  # compressed bytes fed to the inflater at a time


@dataclass(frozen=True, slots=True)
class Block:
    """Data compressed as deflate blocks that end on a byte boundary, none of them final."""

    deflated: bytes
    size: int  # bytes of data
    fold: int  # crc32(data) ^ crc32(size zero bytes): folds the data into a running CRC


def block(data: bytes) -> Block:
    """Compress ``data`` into a block that may stand anywhere in a deflate stream."""
    z = zlib.compressobj(LEVEL, zlib.DEFLATED, RAW)
    deflated = z.compress(data) + z.flush(zlib.Z_SYNC_FLUSH)
    return Block(deflated, len(data), zlib.crc32(data) ^ _zeros_crc(len(data), 0))


def inflate(b: Block) -> bytes:
    """Return the data of ``b``."""
    return zlib.decompressobj(RAW).decompress(b.deflated)


def inflate_chunks(b: Block, size: int) -> Iterator[bytes]:
    """Yield the data of ``b`` in pieces of at most ``size`` bytes, each made when asked for.

    The compressed data is fed a slice at a time (``INFLATE_STEP``), so a paused reader holds
    the inflater's window and at most one slice's leftover, never a copy of the rest of a big
    block. Slices as large as a chunk keep the pieces at the chunk size: smaller ones made
    pieces of every size, which fragmented the heap (40 stalled readers of a 9 MB page: RSS
    +59 MiB with 16 KiB slices, +23 MiB with 256 KiB ones).
    """
    z = zlib.decompressobj(RAW)
    view = memoryview(b.deflated)
    for start in range(0, len(view), INFLATE_STEP):
        data: bytes | memoryview = view[start : start + INFLATE_STEP]
        while data:
            out = z.decompress(data, size)
            data = z.unconsumed_tail
            if out:
                yield out
    rest = z.flush()
    if rest:
        yield rest


def _zeros_crc(n: int, crc: int) -> int:
    """Return ``zlib.crc32(bytes(n), crc)`` without making n bytes."""
    while n > 0:
        step = min(n, len(_ZEROS))
        crc = zlib.crc32(_ZEROS[:step], crc)
        n -= step
    return crc


class Gzip:
    """One gzip member written from plain pieces and compressed blocks, in order."""

    def __init__(self) -> None:
        self._z = zlib.compressobj(LEVEL, zlib.DEFLATED, RAW)
        self._crc = 0
        self._size = 0

    def plain(self, data: bytes) -> bytes:
        """Compress ``data``; the stream is left where a copied block may follow."""
        self._crc = zlib.crc32(data, self._crc)
        self._size += len(data)
        return self._z.compress(data) + self._z.flush(zlib.Z_FULL_FLUSH)

    def copy(self, b: Block) -> bytes:
        """Return ``b``'s deflate blocks, its data counted in the CRC and size."""
        self._crc = _zeros_crc(b.size, self._crc) ^ b.fold
        self._size += b.size
        return b.deflated

    def finish(self) -> bytes:
        """End the stream with a final block; return it and the trailer."""
        return self._z.flush(zlib.Z_FINISH) + struct.pack("<II", self._crc, self._size & 0xFFFFFFFF)
