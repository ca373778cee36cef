"""UAccount's ``GetProjectList``: the projects of an account (no paging, no ``Region``).

Answer, as UCloud's API reference (``uaccount-api/get_project_list.md``) and both official
SDKs (``ProjectListInfo``) write it::

    {"RetCode": 0, "Action": "GetProjectListResponse", "ProjectCount": 2,
     "ProjectSet": [{"ProjectId": "org-1", "ProjectName": "ucloud", "IsDefault": true,
                     "CreateTime": 1342434682, "MemberCount": 1, "ResourceCount": 52,
                     "ParentId": "", "ParentName": ""}, ...]}

``IsDefault`` is a JSON boolean; ``ParentId``/``ParentName`` are deprecated upstream (always
empty here), ``ResourceCount`` too (here: the project's buckets plus UHub repositories unless a
:class:`~exporter.simulator.model.ProjectData` sets it). The request's own ``IsFinance`` is
accepted and ignored; a ``ProjectId`` is only checked (RetCode 292 when unknown): the list is
account-wide.

Odd but legal: ``ProjectSet`` in any order (:attr:`Account.project_order`: ``default_first``,
``default_last``, ``shuffled``), and a key not permitted to list projects
(:attr:`Account.may_list_projects` False: a sub-account without UAccount permission) answered
RetCode 299, which UCloud's error table gives for "IAM permission check failed" (the exact
``Message`` is undocumented; :data:`NOT_PERMITTED` is this simulator's wording). A
``Fault(quirks=...)`` shapes the answer: ``omit_total`` leaves ``ProjectCount`` out,
``total_count`` lies in it, ``omit_zero``/``omit_fields`` leave fields of each entry out.
"""

from __future__ import annotations

import random

from exporter.simulator.model import NO_QUIRKS, Account, Fleet, ProjectData, Quirks
from exporter.simulator.paging import Response, error, omit

__all__ = ["NOT_PERMITTED", "PROJECT_ACTIONS", "get_project_list", "project_item"]

PROJECT_ACTIONS = ("GetProjectList",)
#: (RetCode, Message) of a GetProjectList the key may not call.
NOT_PERMITTED = (299, "IAM permission check failed")


def get_project_list(fleet: Fleet, account: Account, *, quirks: Quirks | None = None) -> Response:
    """List the account's projects, in the order its ``project_order`` says."""
    action = "GetProjectList"
    quirks = quirks or NO_QUIRKS
    with fleet.locked(account.public_key) as live:
        if not live.may_list_projects:
            return error(action, *NOT_PERMITTED)
        items = [project_item(p, p.id == live.default_project) for p in _ordered(live)]
    omit(items, quirks)
    response: Response = {"RetCode": 0, "Action": f"{action}Response", "ProjectSet": items}
    if not quirks.omit_total:
        count = len(items) if quirks.total_count is None else quirks.total_count
        response["ProjectCount"] = count
    return response


def project_item(project: ProjectData, is_default: bool) -> dict[str, object]:
    """Render one ``ProjectSet`` entry."""
    return {
        "ProjectId": project.id,
        "ProjectName": project.name,
        "IsDefault": is_default,
        "CreateTime": project.create_time,
        "MemberCount": project.member_count,
        "ResourceCount": project.resources(),
        "ParentId": "",
        "ParentName": "",
    }


def _ordered(account: Account) -> list[ProjectData]:
    """Return the account's projects in its ``project_order``."""
    projects = account.all_projects()  # the default first
    if account.project_order == "default_last":
        return [*projects[1:], projects[0]]
    if account.project_order == "shuffled":
        random.Random(account.public_key).shuffle(projects)
        if len(projects) > 1 and projects[0].id == account.default_project:
            projects[0], projects[-1] = projects[-1], projects[0]  # never the plain order
    return projects
