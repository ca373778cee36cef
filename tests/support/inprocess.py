"""What the in-process tests share: one account, hypothesis settings, listings (and project
lists) over a mock or a gateway's URL."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from exporter.config import Account, Secret, UCloudSettings, UHubSettings
from exporter.results import DEFAULT_PROJECT
from exporter.ucloud import (
    DockerImages,
    HostImages,
    Listing,
    Project,
    Registry,
    UCloudClient,
    get_projects,
    list_docker_images,
    list_host_images,
    list_image_buckets,
    list_registry,
)
from tests.support.examples import examples

T = TypeVar("T")
#: An account with one region "r", for listings against ``httpx.MockTransport``.
ACCOUNT = Account(
    name="a", public_key="pub", private_key=Secret("priv"), project_id=None, regions=("r",)
)
#: Bounded examples, no per-example deadline (the machine is shared).
FUZZ = settings(
    max_examples=examples(150),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
#: Any JSON value, nested a little (for API answers of any shape).
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=25,
)


def _over(
    answer: Callable[[httpx.Request], Any] | str,
    options: dict[str, Any],
    listing: Callable[[UCloudClient], Awaitable[T]],
) -> T:
    """Run ``listing`` with a client whose gateway is ``answer`` (a function, or the URL of a
    real one); ``options``: UCloudSettings."""
    url = answer if isinstance(answer, str) else "https://api.example/"
    ucloud = UCloudSettings(**{"base_url": url, **options})

    async def go() -> T:
        if isinstance(answer, str):
            client = UCloudClient(ucloud)
        else:
            client = UCloudClient(ucloud, transport=httpx.MockTransport(answer))
        try:
            return await listing(client)
        finally:
            await client.aclose()

    return asyncio.run(go())


def list_over(
    answer: Callable[[httpx.Request], Any], *, budget: float = 10.0, **options: Any
) -> Listing:
    """List ``ACCOUNT``'s region through a client answered by ``answer`` (sync or async).

    ``options`` are ``UCloudSettings`` fields; a ``UCloudError`` propagates.
    """
    deadline = time.monotonic() + budget
    return _over(
        answer,
        options,
        lambda client: list_image_buckets(client, ACCOUNT, "r", deadline=deadline, observe=_none),
    )


def uhub_over(
    answer: Callable[[httpx.Request], Any],
    *,
    uhub: UHubSettings | None = None,
    budget: float = 10.0,
    **options: Any,
) -> Registry:
    """List ``ACCOUNT``'s UHub registry through a client answered by ``answer``.

    ``options`` are ``UCloudSettings`` fields (retries default to 0 here); a ``UCloudError``
    propagates.
    """
    deadline = time.monotonic() + budget
    settings = uhub or UHubSettings()
    return _over(
        answer,
        {"retries": 0, **options},
        lambda client: list_registry(client, ACCOUNT, settings, deadline=deadline, observe=_none),
    )


def projects_over(
    answer: Callable[[httpx.Request], Any] | str, *, budget: float = 10.0, **options: Any
) -> tuple[Project, ...]:
    """List ``ACCOUNT``'s projects (GetProjectList) through a client answered by ``answer``, a
    function or a gateway's URL (``ACCOUNT``'s keys: ``pub``/``priv``).

    ``options`` are ``UCloudSettings`` fields (retries default to 0 here); a ``UCloudError``
    propagates.
    """
    deadline = time.monotonic() + budget
    return _over(
        answer,
        {"retries": 0, **options},
        lambda client: get_projects(client, ACCOUNT, deadline=deadline, observe=_none),
    )


def docker_images_over(
    answer: Callable[[httpx.Request], Any] | str,
    bucket: str = "b",
    *,
    account: Account = ACCOUNT,
    region: str = "r",
    budget: float = 10.0,
    **options: Any,
) -> DockerImages:
    """List ``bucket``'s Docker images (GetDockerImageList) in ``account``'s ``region``, as
    :func:`host_images_over` lists host images."""
    return _without_retries(
        answer,
        budget,
        options,
        lambda client, deadline: list_docker_images(
            client, account, region, bucket, project=None, deadline=deadline, observe=_none
        ),
    )


def host_images_over(
    answer: Callable[[httpx.Request], Any] | str,
    *,
    account: Account = ACCOUNT,
    region: str = "r",
    budget: float = 10.0,
    **options: Any,
) -> HostImages:
    """List ``account``'s (default ``ACCOUNT``'s) custom host images (DescribeImage) in
    ``region`` through a client answered by ``answer``, a function or a gateway's URL, within
    ``budget`` seconds; ``options``: UCloudSettings (retries 0 unless given). Errors raise."""
    return _without_retries(
        answer,
        budget,
        options,
        lambda client, deadline: list_host_images(
            client, account, region, project=None, deadline=deadline, observe=_none
        ),
    )


def _without_retries(
    answer: Callable[[httpx.Request], Any] | str,
    budget: float,
    options: dict[str, Any],
    job: Callable[[UCloudClient, float], Awaitable[T]],
) -> T:
    """Run ``job(client, deadline)`` as :func:`_over` does, retries 0 unless ``options`` say."""
    deadline = time.monotonic() + budget
    return _over(answer, {"retries": 0, **options}, lambda client: job(client, deadline))


def _none(action: str, reason: str | None) -> None:
    """An Observer that records nothing."""


async def configured_projects(account: Account, deadline: float) -> tuple[str, ...]:
    """The ``projects`` a UHubBook asks for, without GetProjectList: the account's configured
    ones, else ``default`` (its key's default project, no ProjectId sent)."""
    return account.projects or (DEFAULT_PROJECT,)
