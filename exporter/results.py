"""What one collection yields: targets, their results, and the errors the engine adds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from exporter.config import Account
from exporter.ucloud import Bucket, UCloudError

__all__ = [
    "DEFAULT_PROJECT",
    "InternalError",
    "Result",
    "Target",
    "UnknownTargetError",
    "project_param",
]
#: The ``project`` label of an account with no project configured whose key may not call
#: GetProjectList (so its default project's id is unknown); its requests carry no ProjectId.
DEFAULT_PROJECT = "default"


def project_param(project: str) -> str:
    """Return the ``ProjectId`` to send for a ``project`` label ("" for ``DEFAULT_PROJECT``:
    none, the key's default project)."""
    return "" if project == DEFAULT_PROJECT else project


@dataclass(frozen=True, slots=True)
class Target:
    """One project of an account in one region: the unit that succeeds or fails on its own.

    ``project`` is the ``project`` label: a ProjectId, or ``DEFAULT_PROJECT`` for the key's
    default project when its id is unknown (then no ProjectId is sent).
    """

    account: Account
    project: str
    region: str

    @property
    def key(self) -> tuple[str, str, str]:
        """Return (account name, project, region): what identifies the target's series."""
        return (self.account.name, self.project, self.region)

    @property
    def project_param(self) -> str:
        """Return the ``ProjectId`` to send ("" for none: the key's default project)."""
        return project_param(self.project)


@dataclass(frozen=True, slots=True)
class Result:
    """The outcome of listing one target."""

    account: str
    project: str
    region: str
    buckets: Sequence[Bucket] | None  # None when the listing failed; Buckets from the engine
    duration: float
    finished: float = field(compare=False)  # time.monotonic() at the end
    error: UCloudError | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        """Return (account, project, region)."""
        return (self.account, self.project, self.region)

    @property
    def ok(self) -> bool:
        """Return whether the listing succeeded."""
        return self.buckets is not None


class InternalError(UCloudError):
    """A bug in the exporter while listing a target (logged with its traceback)."""

    reason = "internal"


class UnknownTargetError(ValueError):
    """A probe asked for an account or region that is not configured or discovered."""
