"""A faithful simulated UCloud API gateway for tests and demos.

Actions: GetImageBucketList (per region), GetRegion, UAccount's GetProjectList
(:mod:`exporter.simulator.projects`), and UHub's cross-region GetRepo, GetRepoImage and
GetImageTag (:mod:`exporter.simulator.uhub`: their shapes, RetCodes and time formats), UGC's
GetDockerImageList (:mod:`exporter.simulator.ugc_images`: a bucket's Docker images) and
UHost's DescribeImage (:mod:`exporter.simulator.host_images`: custom host images). Each
account has projects (:class:`ProjectData`), each with its own buckets and UHub repositories;
``ProjectId`` selects one (none: the default project). A ``GetImageBucketList`` for a region
the account does not have is answered RetCode 230 ``Params [Region] not valid``; every answer
(errors and faults included) carries a fresh ``X-UCLOUD-REQUEST-UUID`` (uuid4).
Standard library only. Typical use::

    with Simulator(demo_fleet()) as sim:
        ...  # point a client at sim.url
"""

from __future__ import annotations

from exporter.simulator.faults import Fault
from exporter.simulator.fleet import (
    BENCH_PROJECT,
    DEMO_ACCOUNTS,
    DEMO_EXTRA_PROJECTS,
    DEMO_PROJECT,
    FIXED_EPOCH,
    GOLDEN_PRIVATE_KEY,
    GOLDEN_PROJECT,
    GOLDEN_PUBLIC_KEY,
    REGION_IDS,
    demo_fleet,
    docker_image_fleet,
    golden_fleet,
    project_fleet,
    project_id,
    region_id,
    synthetic_fleet,
    uhub_repos,
)
from exporter.simulator.fleetfile import fleet_from_dict, load_fleet
from exporter.simulator.host_images import HOST_IMAGE_ACTIONS
from exporter.simulator.images import (
    DockerImage,
    DockerTag,
    GeneratedDockerImages,
    GeneratedHostImages,
    HostImage,
    eol_date,
)
from exporter.simulator.model import (
    FALLBACK_PROJECT,
    PROJECT_ORDERS,
    UHUB_TIME_FORMATS,
    Account,
    Bucket,
    Fleet,
    GeneratedImages,
    Image,
    ProjectData,
    Quirks,
    Repo,
)
from exporter.simulator.projects import NOT_PERMITTED
from exporter.simulator.server import Simulator
from exporter.simulator.signing import sign
from exporter.simulator.sts import STS, STS_ACTIONS
from exporter.simulator.ugc_images import UGC_IMAGE_ACTIONS
from exporter.simulator.uhub import UHUB_ACTIONS, uhub_time

__all__ = [
    "BENCH_PROJECT",
    "DEMO_ACCOUNTS",
    "DEMO_EXTRA_PROJECTS",
    "DEMO_PROJECT",
    "FALLBACK_PROJECT",
    "FIXED_EPOCH",
    "GOLDEN_PRIVATE_KEY",
    "GOLDEN_PROJECT",
    "GOLDEN_PUBLIC_KEY",
    "HOST_IMAGE_ACTIONS",
    "NOT_PERMITTED",
    "PROJECT_ORDERS",
    "REGION_IDS",
    "STS",
    "STS_ACTIONS",
    "UGC_IMAGE_ACTIONS",
    "UHUB_ACTIONS",
    "UHUB_TIME_FORMATS",
    "Account",
    "Bucket",
    "DockerImage",
    "DockerTag",
    "Fault",
    "Fleet",
    "GeneratedDockerImages",
    "GeneratedHostImages",
    "GeneratedImages",
    "HostImage",
    "Image",
    "ProjectData",
    "Quirks",
    "Repo",
    "Simulator",
    "demo_fleet",
    "docker_image_fleet",
    "eol_date",
    "fleet_from_dict",
    "golden_fleet",
    "load_fleet",
    "project_fleet",
    "project_id",
    "region_id",
    "sign",
    "synthetic_fleet",
    "uhub_repos",
    "uhub_time",
]
