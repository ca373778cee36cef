"""UAccount ``GetProjectList``: the projects of an account (one page: the action has no paging)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from exporter.config import Account
from exporter.ucloud._auth import ParamValue
from exporter.ucloud._client import Observer, UCloudClient
from exporter.ucloud._errors import DecodeError

ACTION = "GetProjectList"


@dataclass(frozen=True, slots=True)
class Project:
    """One project of an account, as GetProjectList reports it."""

    id: str  # ProjectId, e.g. org-abc123
    name: str  # ProjectName ("" when absent)
    is_default: bool  # IsDefault: where requests without ProjectId go


def parse_projects(body: Mapping[str, Any]) -> tuple[Project, ...]:
    """Return the distinct projects of a GetProjectList answer, in first-seen order.

    ``ProjectSet`` is required (an account always has its default project); an entry without a
    ``ProjectId`` string makes the answer unusable. ``ProjectName`` and ``IsDefault`` may be
    missing (then "" and false); ``IsDefault`` may be a JSON boolean or 0/1.
    """
    entries = body.get("ProjectSet")
    if not isinstance(entries, list):
        raise DecodeError(f"ProjectSet is a JSON {type(entries).__name__}, not an array")
    found: dict[str, Project] = {}
    for entry in entries:
        if not isinstance(entry, dict):
            raise DecodeError("a ProjectSet entry is not an object")
        pid = entry.get("ProjectId")
        if not isinstance(pid, str) or not pid.strip():
            raise DecodeError("a ProjectSet entry has no ProjectId")
        name = entry.get("ProjectName")
        default = entry.get("IsDefault")
        found.setdefault(
            pid.strip(),
            Project(
                pid.strip(),
                name if isinstance(name, str) else "",
                default is True or (type(default) is int and default == 1),
            ),
        )
    return tuple(found.values())


async def get_projects(
    client: UCloudClient, account: Account, *, deadline: float, observe: Observer
) -> tuple[Project, ...]:
    """Return the projects ``account``'s key may see."""
    params: dict[str, ParamValue] = {"Action": ACTION}
    return await client.call(
        account, params, deadline=deadline, observe=observe, parse=parse_projects
    )
