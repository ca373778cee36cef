"""No series carries an empty label value, in any mode: bucket listings, UHub, project and
region discovery, /probe, every credential source and both image sources."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from exporter import config
from exporter.demo import INSTANCE_ROLE, PROFILE, Demo
from exporter.runtime import Runtime
from exporter.simulator import DEMO_ACCOUNTS, DEMO_PROJECT
from exporter.simulator.images import HostImage
from exporter.web.app import App
from tests.support.asgi import Answer, call
from tests.support.procs import Samples

pytestmark = pytest.mark.e2e  # every test here starts a process

ROLE_URN = "ucs:iam::100:role/image-reader"
#: Families each mode writes; the scrape waits until all of them are there.
EVERY_MODE = (
    "ucloud_image_bucket_images",  # bucket listings
    "ucloud_image_bucket_project_discovery_projects",  # project_id: auto
    "ucloud_image_bucket_region_discovery_regions",  # regions: auto
    "ucloud_image_bucket_credentials_expiry_timestamp_seconds",  # instance role, assume role
    "ucloud_uhub_repo_images",  # uhub: true
    "ucloud_image_bucket_image_tags",  # docker_images: true (the images inside buckets)
    "ucloud_uhost_image_info",  # host_images: true
)


@pytest.fixture(scope="module")
def app() -> Iterator[App]:
    """The demo fleet with every mode on: main (a ucloud-cli profile; every project and region
    discovered; UHub, the images inside its buckets, its custom host images), staging (an
    instance role; host images) and assumer (main's keys assuming a role)."""
    demo = Demo()
    (main, public, private, _), (staging, staging_public, _, regions) = DEMO_ACCOUNTS
    demo.sts.role_urns[ROLE_URN] = public
    # a custom host image without ImageName and OsName (the API may leave them out or empty)
    account = demo.simulator.fleet.account(staging_public)
    assert account is not None
    held = account.host_images["cn-gd"]
    account.host_images["cn-gd"] = [*held, HostImage("uimage-nameless", "", 1, os_name="")]
    raw = {
        "ucloud": {"base_url": demo.url, "metadata_url": demo.url.rstrip("/"), "page_size": 50},
        "accounts": [
            {"name": main, "profile": PROFILE, "project_id": "auto", "regions": "auto",
             "uhub": True, "docker_images": True, "host_images": True},
            {"name": staging, "instance_role": INSTANCE_ROLE, "project_id": DEMO_PROJECT,
             "regions": list(regions), "host_images": True},
            {"name": "assumer", "public_key": public, "private_key": private,
             "assume_role": {"role_urn": ROLE_URN}, "project_id": DEMO_PROJECT,
             "regions": ["cn-bj2"], "docker_images": True},
        ],
    }  # fmt: skip
    env = {
        "HOME": str(demo.home),
        "UCLOUD_SHARED_CREDENTIAL_FILE": str(demo.home / "credential.json"),
        "UCLOUD_SHARED_CONFIG_FILE": str(demo.home / "config.json"),
    }
    cfg = config.parse(raw, source="test", env=env, base_dir=demo.home)
    runtime = Runtime(lambda: cfg)
    try:
        yield App(runtime)
    finally:
        runtime.close()
        demo.stop()


def every_mode(app: App) -> Answer:
    """Scrape /metrics until every mode's families are there (the background sources list
    after the first scrape)."""
    ends = time.monotonic() + 20
    while True:
        answer = call(app)
        names = {name for name, _ in answer.samples()}
        missing = [f for f in EVERY_MODE if f not in names]
        if not missing:
            return answer
        assert time.monotonic() < ends, f"never written: {missing}"
        time.sleep(0.2)


def empty(samples: Samples) -> list[str]:
    """Return every sample that has a label with an empty value."""
    return [
        f"{name}{{{', '.join(f'{k}={v!r}' for k, v in labels)}}}"
        for name, labels in samples
        if any(v == "" for _, v in labels)
    ]


def test_no_series_has_an_empty_label_value(app: App) -> None:
    answer = every_mode(app)
    assert answer.status == 200
    assert empty(answer.samples()) == []
    assert '=""' not in answer.text  # also in what the parser might read differently


@pytest.mark.parametrize(
    "query",
    [
        "account=main",
        f"account=main&project={DEMO_PROJECT}&region=cn-bj2",
        "account=staging",
        "account=assumer&region=cn-bj2",
    ],
)
def test_no_probe_series_has_an_empty_label_value(app: App, query: str) -> None:
    every_mode(app)
    answer = call(app, "/probe", query=query)
    assert answer.status == 200, answer.text
    assert answer.samples(), query
    assert empty(answer.samples()) == []
    assert '=""' not in answer.text
