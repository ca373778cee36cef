"""What one collection yields: targets, their results, and the errors the engine adds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from exporter.config import Account
from exporter.ucloud import Bucket, UCloudError

__all__ = ["InternalError", "Result", "Target", "UnknownTargetError"]


@dataclass(frozen=True, slots=True)
class Target:
    """One account in one region: the unit that succeeds or fails on its own."""

    account: Account
    region: str


@dataclass(frozen=True, slots=True)
class Result:
    """The outcome of listing one target."""

    account: str
    region: str
    buckets: Sequence[Bucket] | None  # None when the listing failed; Buckets from the engine
    duration: float
    finished: float = field(compare=False)  # time.monotonic() at the end
    error: UCloudError | None = None

    @property
    def ok(self) -> bool:
        """Return whether the listing succeeded."""
        return self.buckets is not None


class InternalError(UCloudError):
    """A bug in the exporter while listing a target (logged with its traceback)."""

    reason = "internal"


class UnknownTargetError(ValueError):
    """A probe asked for an account or region that is not configured or discovered."""
