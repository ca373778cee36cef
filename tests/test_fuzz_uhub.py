"""Property-based fuzzing of the UHub listing: any answer is a Registry or a UCloudError."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

import httpx
from hypothesis import example, given
from hypothesis import strategies as st

from exporter.config import UHubSettings
from exporter.ucloud import Registry, UCloudError
from tests.support.inprocess import FUZZ, json_values, uhub_over

names = st.one_of(
    st.sampled_from(["r1", "r2", "img", "img2"]),
    st.sampled_from(["r1", "r2", "img", ""]),
    st.text(max_size=12),
    json_values,
)
times = (
    st.integers(-5, 2**40)
    | st.sampled_from(["2023-11-15 06:13:20", "2023-11-14T22:13:20Z", "1700000000", "soon"])
    | json_values
)
flags = st.sampled_from(["true", "false", "TRUE", "yes"]) | json_values
repos = st.fixed_dictionaries(
    {"RepoName": names},
    optional={"IsShared": flags, "IsOutSide": flags, "UpdateTime": times},
)
images = st.fixed_dictionaries(
    {"ImageName": names},
    optional={"PullCount": st.integers(-3, 10**6) | json_values, "UpdateTime": times},
)
SETS = {"GetRepo": ("RepoSet", repos), "GetRepoImage": ("ImageSet", images), "GetImageTag":
        ("TagSet", st.fixed_dictionaries({"TagName": names}))}  # fmt: skip


def bodies(action: str) -> st.SearchStrategy[bytes]:
    """Mostly well-formed pages with odd fields (so listings get deep), sometimes anything."""
    key, entry = SETS[action]
    page = st.fixed_dictionaries(
        {"RetCode": st.just(0), key: st.lists(entry, max_size=4)},
        optional={"TotalCount": st.integers(0, 6)},
    )
    api = st.fixed_dictionaries(
        {"RetCode": st.sampled_from([0, 171, 2000, "0", None])},
        optional={
            "TotalCount": st.integers(-2, 10**12) | json_values,
            key: st.lists(entry | json_values, max_size=5) | json_values,
            "Message": json_values,
        },
    )
    junk = st.binary(max_size=100) | json_values | api
    shapes = st.sampled_from([page] * 8 + [junk]).flatmap(lambda shape: shape)
    return shapes.map(lambda v: v if isinstance(v, bytes) else json.dumps(v).encode())


scripts = st.fixed_dictionaries(
    {action: st.lists(bodies(action), min_size=1, max_size=3) for action in SETS}
)


def gateway(script: dict[str, list[bytes]]) -> Any:
    """Answer each action from its script in order, then with an empty page."""
    queues = {action: list(answers) for action, answers in script.items()}

    def answer(request: httpx.Request) -> httpx.Response:
        action = dict(parse_qsl(request.content.decode()))["Action"]
        queue = queues[action]
        body = queue.pop(0) if queue else json.dumps({"RetCode": 0, SETS[action][0]: []}).encode()
        return httpx.Response(200, content=body)

    return answer


@FUZZ
@given(script=scripts, page_size=st.integers(1, 3), mode=st.sampled_from(["off", "top", "all"]))
@example(
    script={
        "GetRepo": [b'{"RetCode": 0, "TotalCount": 1000000000000, "RepoSet": [{"RepoName": "r"}]}'],
        "GetRepoImage": [b'{"RetCode": 0, "ImageSet": [{"ImageName": "i", "PullCount": 1}]}'],
        "GetImageTag": [b'{"RetCode": 0, "TotalCount": true}'],
    },
    page_size=1,
    mode="all",
)
def test_any_uhub_answer_is_a_registry_or_a_ucloud_error(script, page_size, mode):
    try:
        outcome: Registry | UCloudError = uhub_over(
            gateway(script), page_size=page_size, uhub=UHubSettings(tag_counts=mode), budget=5
        )
    except UCloudError as exc:
        outcome = exc
    if isinstance(outcome, UCloudError):
        assert outcome.reason and outcome.action in SETS
        return
    repo_names = [r.name for r in outcome.repos]
    assert len(repo_names) == len(set(repo_names)) and all(repo_names)
    keys = [(i.repo, i.name) for i in outcome.images]
    assert len(keys) == len(set(keys)) and all(i.name for i in outcome.images)
    assert {i.repo for i in outcome.images} <= set(repo_names)
    for value in (v for i in outcome.images for v in (i.pulls, i.updated, i.tags)):
        assert value is None or (type(value) is int and value >= 0)
    assert all(r.shared in (True, False, None) for r in outcome.repos)
