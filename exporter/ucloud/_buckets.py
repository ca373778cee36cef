"""A listing's buckets, held as columns rather than as one object per bucket.

At a million buckets one frozen object per bucket, with its two ``int`` objects, costs about
130 bytes before the name; here a bucket costs a reference to its name, a one-byte type code
and two 8-byte integers (``docs/benchmarks.md``, the ``compact`` case, has the figures).
``Buckets`` is still a ``Sequence[Bucket]``: indexing and iterating build ``Bucket`` rows on
demand, for the code paths that are not hot.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import NamedTuple, TypeAlias, cast, overload

MISSING = -1  # an integer column's cell when the API did not report a valid value
_INT64_MAX = 2**63 - 1
# A column of non-negative ints or None: packed 8 bytes each, or (a value beyond 64 bits) a
# tuple of the values themselves.
IntColumn: TypeAlias = "array[int] | tuple[int | None, ...]"


class Bucket(NamedTuple):
    """One image bucket as the API reported it; a missing or malformed field is None.

    ``type`` is ``private``, ``public`` or ``unknown`` (BucketType missing or not one of the
    documented values). A bucket without a name is counted but has no per-bucket series. A
    named tuple: the parser builds one per entry, at half a frozen dataclass's CPU.
    """

    name: str | None
    type: str
    images: int | None
    created: int | None


class Buckets(Sequence[Bucket]):
    """Buckets as columns: names, type codes into ``kinds``, images and created times."""

    __slots__ = ("_created", "_images", "_valued", "codes", "kinds", "names")

    def __init__(self, rows: Iterable[Bucket] = ()) -> None:
        rows = rows if isinstance(rows, Sequence) else tuple(rows)
        self.names: tuple[str | None, ...] = tuple(b.name for b in rows)
        index: dict[str, int] = {}
        codes = [index.setdefault(b.type, len(index)) for b in rows]
        self.kinds: tuple[str, ...] = tuple(index)  # the distinct types, in order seen
        self.codes = array("B" if len(index) <= 256 else "L", codes)  # into kinds
        self._images = _ints(b.images for b in rows)
        self._created = _ints(b.created for b in rows)
        self._valued: dict[str, int] = {}  # valued()'s answers: the columns never change

    @classmethod
    def from_columns(
        cls,
        names: Sequence[str | None],
        types: Sequence[str],
        images: Sequence[int | None],
        created: Sequence[int | None],
    ) -> Buckets:
        """Build from columns of equal length (the listing's), without a row per bucket."""
        self = cls.__new__(cls)
        self.names = tuple(names)
        self.kinds = tuple(dict.fromkeys(types))
        index = {kind: i for i, kind in enumerate(self.kinds)}
        self.codes = array("B" if len(index) <= 256 else "L", map(index.__getitem__, types))
        self._images, self._created = _ints(images), _ints(created)
        self._valued = {}
        if not len(self.names) == len(self.codes) == len(self._images) == len(self._created):
            raise ValueError("columns of different lengths")
        return self

    def __len__(self) -> int:
        return len(self.names)

    @overload
    def __getitem__(self, i: int) -> Bucket: ...

    @overload
    def __getitem__(self, i: slice) -> Buckets: ...

    def __getitem__(self, i: int | slice) -> Bucket | Buckets:
        if isinstance(i, slice):
            return Buckets([self[j] for j in range(*i.indices(len(self)))])
        return Bucket(
            self.names[i],
            self.kinds[self.codes[i]],
            _at(self._images, i),
            _at(self._created, i),
        )

    def __iter__(self) -> Iterator[Bucket]:
        for name, kind, images, created in zip(
            self.names, self.types(), self.column("images"), self.column("created"), strict=True
        ):
            yield Bucket(name, kind, images, created)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Buckets):  # column for column, in C (each column is canonical)
            return (
                self.names == other.names
                and self.kinds == other.kinds
                and self.codes == other.codes
                and self._images == other._images
                and self._created == other._created
            )
        if isinstance(other, tuple | list):
            return len(self) == len(other) and tuple(self) == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"Buckets({list(self)!r})"

    def types(self) -> Iterator[str]:
        """Yield each bucket's type."""
        return map(self.kinds.__getitem__, self.codes)

    def type_counts(self) -> Counter[str]:
        """Count the buckets of each type."""
        return Counter({self.kinds[code]: n for code, n in Counter(self.codes).items()})

    def column(self, field: str) -> Iterator[int | None]:
        """Yield ``images`` or ``created`` of each bucket (None where it was not reported)."""
        values = self._images if field == "images" else self._created
        if isinstance(values, array) and MISSING in values:
            return map(_cell, values)
        return iter(values)

    def valued(self, field: str) -> int:
        """Return how many buckets have a name and ``images`` or ``created`` (``field``): the
        series of its per-bucket family, counted without writing them (in C unless both a
        name and a value are missing somewhere; once per column: a cached listing's scrapes
        count nothing)."""
        known = self._valued.get(field)
        if known is not None:
            return known
        self._valued[field] = n = self._count_valued(field)
        return n

    def _count_valued(self, field: str) -> int:
        values = self._images if field == "images" else self._created
        unnamed = self.names.count(None)
        unvalued = values.count(MISSING) if isinstance(values, array) else values.count(None)
        if not unnamed or not unvalued:
            return len(self) - unnamed - unvalued
        pairs = zip(self.names, self.column(field), strict=True)
        return sum(n is not None and v is not None for n, v in pairs)

    def select(self, keep: Callable[[str | None], bool]) -> Buckets:
        """Return the buckets whose name ``keep`` accepts (self when it accepts them all)."""
        kept = [i for i, name in enumerate(self.names) if keep(name)]
        if len(kept) == len(self):
            return self
        return Buckets([self[i] for i in kept])


def as_columns(buckets: Sequence[Bucket]) -> Buckets:
    """Return ``buckets`` as ``Buckets`` (itself when it already is)."""
    return buckets if isinstance(buckets, Buckets) else Buckets(buckets)


def _ints(values: Iterable[int | None]) -> IntColumn:
    """Pack non-negative ints and None (as ``MISSING``) in 8 bytes each, if they all fit."""
    cells = list(values)
    if cells and None not in cells:  # the usual column: min and max run in C
        ints = cast(list[int], cells)
        if min(ints) >= 0 and max(ints) <= _INT64_MAX:
            return array("q", ints)
    if all(v is None or 0 <= v <= _INT64_MAX for v in cells):
        return array("q", [MISSING if v is None else v for v in cells])
    return tuple(cells)


def _at(values: IntColumn, i: int) -> int | None:
    """Return cell ``i`` of an integer column."""
    return _cell(values[i]) if isinstance(values, array) else values[i]


def _cell(value: int) -> int | None:
    """Return a packed cell as the API's value (None: not reported)."""
    return None if value == MISSING else value
