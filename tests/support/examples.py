"""How many examples a property test tries: its full count in CI, a fifth in the inner loop.

CI (``CI=true``, as ``.ci/run`` sets it) runs every property test with the count written at the
test; a developer's run without ``CI`` (the ``pytest -m "not e2e"`` loop of the README) tries a
fifth of them, at least 10, so the loop stays fast and CI keeps the full search.
"""

from __future__ import annotations

import os

#: Whether this run is CI's (the full example counts).
FULL = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def examples(count: int) -> int:
    """Return ``count`` in CI, else a fifth of it (at least 10)."""
    return count if FULL else max(10, count // 5)
