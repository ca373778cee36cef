"""Request headers as RFC 9110 reads them: list-valued fields joined, single ones unique,
and content codings with their quality values."""

from __future__ import annotations

from collections.abc import Iterable

# Fields whose value is a comma-separated list: repeated lines are one list (RFC 9110, 5.3).
LIST_VALUED = frozenset({b"accept", b"accept-encoding"})
# Fields that hold one value: a repeated line makes the request ambiguous, and it gets 400.
SINGLE_VALUED = frozenset(
    {b"authorization", b"host", b"content-length", b"x-prometheus-scrape-timeout-seconds"}
)


class DuplicateHeader(ValueError):
    """A single-valued header was sent more than once."""


def normalized(headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """Return ``headers`` (lower-case names, as ASGI has them) with each list-valued field
    joined into one line, in order; raise DuplicateHeader for a repeated single-valued one."""
    out: list[tuple[bytes, bytes]] = []
    joined: dict[bytes, int] = {}  # name -> its index in out
    seen: set[bytes] = set()
    for name, value in headers:
        if name in SINGLE_VALUED:
            if name in seen:
                raise DuplicateHeader(f"duplicate {name.decode('latin-1').title()} header")
            seen.add(name)
        elif name in LIST_VALUED and name in joined:
            index = joined[name]
            before = out[index][1]
            out[index] = (name, b", ".join(v for v in (before, value.strip()) if v))
            continue
        elif name in LIST_VALUED:
            joined[name] = len(out)
        out.append((name, value.strip() if name in LIST_VALUED else value))
    return out


def gzip_wanted(accept_encoding: str) -> bool:
    """Return whether the client accepts gzip: ``gzip`` (or ``*`` when gzip is not named)
    with a quality above 0. ``gzip;q=0`` refuses it, whatever else the header says."""
    star: float | None = None
    for coding in accept_encoding.split(","):
        name, _, params = coding.partition(";")
        name = name.strip().lower()
        if not name:
            continue
        quality = _quality(params)
        if name in ("gzip", "x-gzip"):
            return quality > 0
        if name == "*":
            star = quality
    return star is not None and star > 0


def _quality(params: str) -> float:
    """Return the ``q`` parameter of a coding (1 when absent; 0 when malformed)."""
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "q":
            try:
                q = float(value.strip())
            except ValueError:
                return 0.0
            return q if 0.0 <= q <= 1.0 else 0.0
        # other parameters are ignored
    return 1.0
