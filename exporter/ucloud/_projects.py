"""UAccount ``GetProjectList``: the projects of an account (one page: the action has no paging)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from exporter.config import Account
from exporter.ucloud._auth import ParamValue
from exporter.ucloud._client import Observer, UCloudClient
from exporter.ucloud._errors import DecodeError
from exporter.ucloud._text import clean

ACTION = "GetProjectList"
#: ProjectSet entries accepted in one answer: more is a hostile gateway (every project is a
#: target per region), and the answer is refused rather than cut at an arbitrary project.
MAX_PROJECTS = 1_000
#: Characters of a ProjectId (a label value and a request parameter); a longer one is refused.
MAX_PROJECT_ID_CHARS = 128
#: Characters of a ProjectName kept (it is only ever shown); the rest is dropped.
MAX_PROJECT_NAME_CHARS = 256


@dataclass(frozen=True, slots=True)
class Project:
    """One project of an account, as GetProjectList reports it."""

    id: str  # ProjectId, e.g. org-abc123
    name: str  # ProjectName ("" when absent)
    is_default: bool  # IsDefault: where requests without ProjectId go


def parse_projects(body: Mapping[str, Any]) -> tuple[Project, ...]:
    """Return the distinct projects of a GetProjectList answer, in first-seen order.

    ``ProjectSet`` is required (an account always has its default project); an entry that is
    not an object, or has no ``ProjectId`` string (or one longer than
    ``MAX_PROJECT_ID_CHARS``), makes the answer unusable, as do more than ``MAX_PROJECTS``
    entries. ``ProjectName`` and ``IsDefault`` may be missing (then "" and false);
    ``IsDefault`` may be a JSON boolean, 0/1 or the string ``"true"``/``"false"``. An id listed
    twice is one project, default if any of its entries says so; only the first default
    project keeps ``is_default`` (an account has one). Names are cut to
    ``MAX_PROJECT_NAME_CHARS``; lone surrogates in ids and names become U+FFFD.
    """
    entries = body.get("ProjectSet")
    if not isinstance(entries, list):
        raise DecodeError(f"ProjectSet is a JSON {type(entries).__name__}, not an array")
    if len(entries) > MAX_PROJECTS:
        raise DecodeError(f"ProjectSet holds {len(entries)} entries, more than {MAX_PROJECTS}")
    found: dict[str, Project] = {}
    for entry in entries:
        if not isinstance(entry, dict):
            raise DecodeError("a ProjectSet entry is not an object")
        pid = entry.get("ProjectId")
        if not isinstance(pid, str) or not pid.strip():
            raise DecodeError("a ProjectSet entry has no ProjectId")
        pid = clean(pid.strip())
        if len(pid) > MAX_PROJECT_ID_CHARS:
            raise DecodeError(f"a ProjectId is longer than {MAX_PROJECT_ID_CHARS} characters")
        name = entry.get("ProjectName")
        name = clean(name[:MAX_PROJECT_NAME_CHARS]) if isinstance(name, str) else ""
        default = _flag(entry.get("IsDefault"))
        seen = found.get(pid)
        if seen is None:
            found[pid] = Project(pid, name, default)
        elif default and not seen.is_default:
            found[pid] = Project(pid, seen.name or name, True)
    defaults = [p.id for p in found.values() if p.is_default]
    for extra in defaults[1:]:
        found[extra] = Project(extra, found[extra].name, False)
    return tuple(found.values())


def _flag(value: Any) -> bool:
    """Read ``IsDefault``: true, 1 or "true" (any case) are true; anything else false."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1")
    return value is True or (type(value) is int and value == 1)


async def get_projects(
    client: UCloudClient, account: Account, *, deadline: float, observe: Observer
) -> tuple[Project, ...]:
    """Return the projects ``account``'s key may see."""
    params: dict[str, ParamValue] = {"Action": ACTION}
    return await client.call(
        account, params, deadline=deadline, observe=observe, parse=parse_projects
    )
