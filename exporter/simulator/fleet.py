"""Simulated fleets: demo, synthetic (benchmark) and golden generators of the data model."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from exporter.simulator.images import (
    DockerImage,
    DockerTag,
    GeneratedDockerImages,
    GeneratedHostImages,
    HostImage,
    eol_date,
)
from exporter.simulator.model import Account, Bucket, Fleet, Image, ProjectData, Repo

__all__ = [
    "BENCH_PROJECT",
    "DEMO_ACCOUNTS",
    "DEMO_EXTRA_PROJECTS",
    "DEMO_PROJECT",
    "FIXED_EPOCH",
    "GOLDEN_PRIVATE_KEY",
    "GOLDEN_PROJECT",
    "GOLDEN_PUBLIC_KEY",
    "REGION_IDS",
    "demo_fleet",
    "docker_image_fleet",
    "golden_fleet",
    "project_fleet",
    "project_id",
    "region_id",
    "synthetic_fleet",
    "uhub_repos",
]

#: Region ids in the order of UCloud's public region list.
REGION_IDS: tuple[str, ...] = (
    "cn-bj1", "cn-bj2", "cn-wlcb", "cn-wlcb2", "cn-sh2", "cn-jx", "cn-sh", "cn-gd2", "cn-gd",
    "cn-guiyang1", "hk", "tw-tp", "sg", "jpn-tky", "kr-seoul", "th-bkk", "idn-jakarta", "vn-sng",
    "ph-mnl", "ind-mumbai", "pk-khi", "us-den", "us-ca", "us-ws", "bra-saopaulo", "rus-mosc",
    "ge-fra", "uk-london", "uae-dubai", "afr-nigeria", "uz-tas", "kz-ala", "mx-mex",
)  # fmt: skip

#: "Now" for generated create times (2025-01-01T00:00:00Z), so output never depends on the clock.
FIXED_EPOCH = 1_735_689_600
_THREE_YEARS = 3 * 365 * 86_400
_DAY = 86_400

#: (account name, public key, private key, regions) of the demo fleet.
DEMO_ACCOUNTS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("main", "demo-public-key-main", "demo-private-key-main", ("cn-bj2", "cn-sh2", "hk", "sg")),
    ("staging", "demo-public-key-staging", "demo-private-key-staging", ("cn-bj2", "cn-gd")),
)
DEMO_PROJECT = "org-demo"
#: (id, name, {region: typical bucket count}, UHub repository or "") of the first demo
#: account's projects besides its default one (``DEMO_PROJECT``); their regions are that
#: account's.
DEMO_EXTRA_PROJECTS: tuple[tuple[str, str, dict[str, int], str], ...] = (
    ("org-demo-data", "data-platform", {"cn-bj2": 40, "hk": 12}, "analytics"),
    ("org-demo-ml", "machine-learning", {"cn-sh2": 25, "sg": 12}, ""),
)

#: The default project of the benchmark fleets (:func:`synthetic_fleet`, :func:`project_fleet`).
BENCH_PROJECT = "org-bench"

GOLDEN_PUBLIC_KEY = "golden-public-key"
GOLDEN_PRIVATE_KEY = "golden-private-key"
GOLDEN_PROJECT = "org-golden"

# Typical bucket count per (account, region) of the demo fleet; each varies by up to 15 %.
_DEMO_SIZES = {
    ("main", "cn-bj2"): 220,
    ("main", "cn-sh2"): 130,
    ("main", "hk"): 70,
    ("main", "sg"): 45,
    ("staging", "cn-bj2"): 24,
    ("staging", "cn-gd"): 12,
}
_NAMESPACES = (
    "team-a", "team-b", "payments", "search", "infra", "data", "ml", "web", "mobile",
    "platform", "security", "qa",
)  # fmt: skip
_SERVICES = (
    "api-gateway", "auth", "billing", "checkout", "frontend", "backend", "scheduler", "notifier",
    "search-indexer", "recommender", "image-resizer", "log-shipper", "metrics-proxy", "envoy",
    "kafka-connect", "etl", "feature-store", "model-server", "admin-portal", "cdn-purger",
    "mailer", "sms-gateway", "user-profile", "inventory", "order-service", "report-builder",
)  # fmt: skip
_FLAVOURS = ("", "-worker", "-canary", "-legacy")
_SIMPLE = ("nginx", "hello-world", "test", "tmp-build", "demo-app", "jenkins-agent", "ci-runner")
_LIBRARY = ("nginx", "redis", "mysql", "ubuntu", "centos", "golang", "python", "node", "alpine")


def region_id(index: int) -> str:
    """Return the index-th region id of the docs' list, suffixed once the list runs out."""
    base = REGION_IDS[index % len(REGION_IDS)]
    return base if index < len(REGION_IDS) else f"{base}-{index // len(REGION_IDS) + 1}"


def demo_fleet(*, seed: int = 42, now: int | None = None) -> Fleet:
    """Build the believable two-account demo fleet, deterministic for ``seed`` and ``now``.

    Both accounts' default project is ``DEMO_PROJECT``. The first account (``main``) also has
    a UHub registry whose times end at ``now`` (default: the start of the current UTC day, so
    its images look recent whenever the demo runs), and the projects of
    ``DEMO_EXTRA_PROJECTS``, each with buckets in some of its regions (one with a UHub
    repository of its own); the buckets do not depend on ``now``.

    Images outside UHub (:func:`_demo_images`): Docker images in three of ``main``'s cn-bj2
    buckets, and custom host images: ``main`` has 9 in hk (quota 10: near it), some in cn-bj2
    and cn-sh2, one of cn-bj2's with ``MaintainEol`` 20 days after ``now`` (its OS near end of
    life); ``staging`` has 2 in cn-gd.
    """
    if now is None:
        now = int(time.time()) // _DAY * _DAY
    accounts = []
    for name, public_key, private_key, regions in DEMO_ACCOUNTS:
        buckets = {region: _demo_region(seed, name, region) for region in regions}
        account = Account(public_key, private_key, {DEMO_PROJECT}, buckets)
        if name == DEMO_ACCOUNTS[0][0]:
            account.repos = _demo_repos(seed, now)
            account.default_project_name = "main"
            account.default_project_members = 12
            account.extra_projects = _demo_projects(seed, now)
        _demo_images(account, name, seed, now)
        accounts.append(account)
    return Fleet(accounts)


#: Host images per (account, region) of the demo fleet (hk: 9 of its default quota of 10).
_DEMO_HOST_IMAGES = {("main", "cn-bj2"): 6, ("main", "cn-sh2"): 3, ("main", "hk"): 9,
                     ("staging", "cn-gd"): 2}  # fmt: skip
_DEMO_OSES = (
    ("CentOS 8.5 64位", "Linux", 20), ("Ubuntu 22.04 64位", "Linux", 20),
    ("Debian 12.0 64位", "Linux", 20), ("Windows 2019 数据中心版 64位", "Windows", 40),
)  # fmt: skip


def _demo_images(account: Account, name: str, seed: int, now: int) -> None:
    """Give a demo account Docker images in a few buckets and custom host images (see
    :func:`demo_fleet`)."""
    rng = random.Random(f"{seed}:{name}:images")
    if name == DEMO_ACCOUNTS[0][0]:
        own = [b for b in account.regions["cn-bj2"] if not b.shared][:3]
        for bucket, count in zip(own, (4, 12, 1), strict=True):
            images = []
            for service in rng.sample(_SERVICES, count):
                made = now - rng.randrange(30 * _DAY, 400 * _DAY)
                tags = [
                    DockerTag(f"v{j + 1}", made + j * rng.randrange(_DAY, 20 * _DAY))
                    for j in range(rng.randint(1, 25))
                ]
                images.append(DockerImage(service, tags, tags[-1].create_time))
            bucket.docker_images = images
    for (owner, region), count in _DEMO_HOST_IMAGES.items():
        if owner != name:
            continue
        host: list[HostImage] = []
        for k in range(count):
            os_name, os_type, size = _DEMO_OSES[rng.randrange(len(_DEMO_OSES))]
            host.append(
                HostImage(
                    f"uimage-{rng.getrandbits(32):08x}",
                    f"{rng.choice(_SERVICES)}-{k + 1}",
                    now - rng.randrange(_DAY, 500 * _DAY),
                    os_name,
                    os_type,
                    "Making" if (region, k) == ("cn-sh2", 2) else "Available",
                    size + 10 * rng.randrange(4),
                    eol_date(now + rng.randrange(2 * 365, 6 * 365) * _DAY),
                    f"{region}-0{1 + k % 2}",
                )
            )
        if region == "cn-bj2":
            host[0].maintain_eol = eol_date(now + 20 * _DAY)  # near its OS's end of life
            host[0].os_name, host[0].os_type = "CentOS 8.5 64位", "Linux"
        account.host_images[region] = host


def _demo_projects(seed: int, now: int) -> list[ProjectData]:
    """Generate the first demo account's projects besides its default one."""
    projects = []
    for number, (pid, name, sizes, repo) in enumerate(DEMO_EXTRA_PROJECTS, start=1):
        rng = random.Random(f"{seed}:{pid}")
        regions = {r: _demo_buckets(rng, typical) for r, typical in sizes.items()}
        repos = []
        if repo:
            images = [
                Image(svc, int(rng.lognormvariate(4, 2)), now - 400 * _DAY,
                      now - rng.randrange(20 * _DAY), f"v{tags}", tags)
                for svc, tags in zip(rng.sample(_SERVICES, 4), (3, 12, 40, 1), strict=True)
            ]  # fmt: skip
            repos.append(Repo(repo, now - 420 * _DAY, max(i.update_time for i in images),
                              f"{name} images", images=images))  # fmt: skip
        created = FIXED_EPOCH - number * 90 * _DAY
        projects.append(ProjectData(pid, name, created, 2 + 3 * number, regions, repos))
    return projects


#: (name, description, shared, outside) of the demo UHub repositories.
_DEMO_REPOS = (
    ("web", "storefront and its edge services", False, True),
    ("payments", "PCI scope: billing and checkout", False, True),
    ("platform", "shared infrastructure images", False, True),
    ("ops-internal", "reachable from UCloud's network only", False, False),
    ("opensource", "images we publish", True, True),
)


def _demo_repos(seed: int, now: int) -> list[Repo]:
    """Generate the demo UHub registry: one image with 760 tags, one not updated for months."""
    rng = random.Random(f"{seed}:uhub")
    pool = [service + flavour for service in _SERVICES for flavour in _FLAVOURS]
    repos = []
    for name, description, shared, outside in _DEMO_REPOS:
        images = []
        for image in rng.sample(pool, rng.randint(3, 40)):
            tags = rng.randint(1, 40)
            images.append(
                Image(
                    image,
                    0 if rng.random() < 0.12 else int(rng.lognormvariate(5, 2.5)),
                    now - rng.randrange(30 * _DAY, 700 * _DAY),
                    now - rng.randrange(30 * _DAY),  # recent
                    "latest" if rng.random() < 0.2 else f"v{tags}",
                    tags,
                )
            )
        repos.append(Repo(name, 0, 0, description, shared, outside, images))
    busy, stale = repos[0].images[0], repos[2].images[-1]
    busy.tags, busy.latest_tag = 760, "v760"  # close to UHub's limit of 800 tags per image
    stale.update_time = now - rng.randrange(120 * _DAY, 200 * _DAY)
    stale.create_time = min(stale.create_time, stale.update_time - 30 * _DAY)
    min(repos[3].images, key=lambda i: i.pull_count).pull_count = 0  # never pulled
    for repo in repos:
        repo.create_time = min(i.create_time for i in repo.images) - rng.randrange(1, 30) * _DAY
        repo.update_time = max(i.update_time for i in repo.images)
    return repos


def _demo_region(seed: int, account: str, region: str) -> list[Bucket]:
    """Generate one demo region's buckets (of an account's default project), newest first."""
    rng = random.Random(f"{seed}:{account}:{region}")
    return _demo_buckets(rng, _DEMO_SIZES[(account, region)])


def _demo_buckets(rng: random.Random, typical: int) -> list[Bucket]:
    """Generate about ``typical`` buckets (within 15 %), newest first."""
    total = typical + rng.randint(-typical * 15 // 100, typical * 15 // 100)
    shared = rng.sample(_LIBRARY, rng.randint(2, 5))
    simple = rng.sample(_SIMPLE, rng.randint(1, 4))
    pool = [f"uhub.service.ucloud.cn/{ns}/{svc}{fl}" for ns in _NAMESPACES for svc in _SERVICES
            for fl in _FLAVOURS]  # fmt: skip
    own = simple + rng.sample(pool, total - len(shared) - len(simple))
    buckets = [
        Bucket(f"uhub.service.ucloud.cn/library/{lib}", "Public", rng.randint(20, 500),
               _demo_time(rng), shared=True)
        for lib in shared
    ]  # fmt: skip
    for bucket_name in own:
        kind = "Public" if rng.random() < 0.3 else "Private"
        buckets.append(Bucket(bucket_name, kind, _demo_count(rng), _demo_time(rng)))
    buckets.sort(key=lambda b: (-b.create_time, b.name))
    return buckets


def _demo_count(rng: random.Random) -> int:
    """Draw an image count in 0..500, mostly small."""
    if rng.random() < 0.08:
        return 0
    return min(500, int(rng.lognormvariate(1.8, 1.2)))


def _demo_time(rng: random.Random) -> int:
    """Draw a create time within the three years before the fixed epoch."""
    return FIXED_EPOCH - rng.randrange(_THREE_YEARS)


def synthetic_fleet(
    *,
    regions: int,
    buckets_per_region: int,
    public_key: str = "bench-public-key",
    private_key: str = "bench-private-key",
    seed: int = 0,
) -> Fleet:
    """Build a large one-account fleet for benchmarks (``bucket-00001``, ... per region)."""
    rng = random.Random(seed)
    by_region = {region_id(i): _synthetic_buckets(rng, buckets_per_region) for i in range(regions)}
    return Fleet([Account(public_key, private_key, {BENCH_PROJECT}, by_region)])


def project_fleet(
    *,
    projects: int = 20,
    regions: int = 25,
    occupied: int = 50,
    buckets_per_target: int = 20,
    public_key: str = "bench-public-key",
    private_key: str = "bench-private-key",
    seed: int = 0,
) -> Fleet:
    """Build one account with ``projects`` projects in ``regions`` regions where only
    ``occupied`` of the ``projects * regions`` (project, region) targets hold buckets.

    For a calls-per-hour benchmark of discovered projects and regions (issue 21: 20 projects
    x 25 regions, buckets in 50 of the 500 targets). Project ids are ``project_id(0)``
    (``org-bench``, the default project, as in :func:`synthetic_fleet`), ``project_id(1)``
    (``org-bench-02``), ...; every project lists every region (``region_id(0)``, ...: GetRegion
    answers all of them), and the occupied targets, drawn with ``seed``, hold
    ``buckets_per_target`` buckets each (``bucket-00001``, ... as :func:`synthetic_fleet`'s);
    every other target lists none. ``Fleet.targets(public_key)`` names the occupied ones. No
    UHub repositories (give a project some with :func:`uhub_repos` if wanted).
    """
    if projects < 1 or regions < 1:
        raise ValueError("projects and regions must be >= 1")
    if not 0 <= occupied <= projects * regions:
        raise ValueError(f"occupied must be 0 to projects * regions ({projects * regions})")
    if buckets_per_target < 1:
        raise ValueError("buckets_per_target must be >= 1")
    rng = random.Random(seed)
    chosen = sorted(rng.sample(range(projects * regions), occupied))
    data: list[dict[str, list[Bucket]]] = [
        {region_id(r): [] for r in range(regions)} for _ in range(projects)
    ]
    for target in chosen:
        data[target // regions][region_id(target % regions)] = _synthetic_buckets(
            rng, buckets_per_target
        )
    account = Account(public_key, private_key, {project_id(0)}, data[0])
    account.default_project_name = "bench"
    account.extra_projects = [
        ProjectData(project_id(p), f"bench-{p + 1:02d}", FIXED_EPOCH - p * _DAY, 1, data[p])
        for p in range(1, projects)
    ]
    return Fleet([account])


def docker_image_fleet(
    *,
    buckets: int = 1_000,
    images: int = 50,
    tags: int = 3,
    host_images: int = 0,
    public_key: str = "bench-public-key",
    private_key: str = "bench-private-key",
    seed: int = 0,
) -> Fleet:
    """Build one account (``BENCH_PROJECT``) with ``buckets`` buckets in ``region_id(0)``
    (cn-bj1), each holding ``images`` generated Docker images of ``tags`` tags
    (:class:`~exporter.simulator.images.GeneratedDockerImages`: made per request, none held),
    and ``host_images`` generated custom host images there.

    For issue 22's scale benchmark: 1,000 buckets x 50 images each by default. The buckets are
    :func:`synthetic_fleet`'s for the same ``seed``.
    """
    if buckets < 0 or images < 0 or tags < 0 or host_images < 0:
        raise ValueError("buckets, images, tags and host_images must be >= 0")
    region = region_id(0)
    listed = _synthetic_buckets(random.Random(seed), buckets)
    for bucket in listed:
        bucket.docker_images = GeneratedDockerImages(images, tags, bucket.create_time, FIXED_EPOCH)
    account = Account(public_key, private_key, {BENCH_PROJECT}, {region: listed})
    if host_images:
        account.host_images[region] = GeneratedHostImages(host_images, region, FIXED_EPOCH)
    return Fleet([account])


def project_id(index: int) -> str:
    """Return the id of :func:`project_fleet`'s ``index``-th project (0: the default)."""
    return BENCH_PROJECT if index == 0 else f"{BENCH_PROJECT}-{index + 1:02d}"


def _synthetic_buckets(rng: random.Random, count: int) -> list[Bucket]:
    """Generate ``bucket-00001`` ... ``bucket-<count>`` (every fifth public, every 50th shared)."""
    rnd = rng.random
    return [
        Bucket(
            f"bucket-{i:05d}",
            "Public" if i % 5 == 0 else "Private",
            int(500 * rnd() ** 4),
            FIXED_EPOCH - int(rnd() * _THREE_YEARS),
            i % 50 == 0,
        )
        for i in range(1, count + 1)
    ]


def uhub_repos(
    *, repos: int, images: int, tags: int | Callable[[int], int] = 1, seed: int = 0
) -> list[Repo]:
    """Generate a synthetic UHub registry for benchmarks, deterministic for ``seed``.

    ``repo-01``, ... hold ``images`` images each (``image-00001``, ...); ``tags`` is every
    image's tag count, or a function of the image's number across all repositories (0, 1, ...).
    Every fourth repository is shared (public), every third is not reachable from the
    internet; times lie within the three years before ``FIXED_EPOCH``.
    """
    if repos < 0 or images < 0:
        raise ValueError("repos and images must be >= 0")
    rng = random.Random(seed)
    rnd = rng.random
    registry = []
    for r in range(repos):
        created = FIXED_EPOCH - int(rnd() * _THREE_YEARS)
        listed = []
        for i in range(images):
            count = tags(r * images + i) if callable(tags) else tags
            if count < 0:
                raise ValueError("tags must be >= 0")
            made = created + int(rnd() * (FIXED_EPOCH - created))
            updated = made + int(rnd() * (FIXED_EPOCH - made))
            pulls = int(100_000 * rnd() ** 6)
            listed.append(Image(f"image-{i + 1:05d}", pulls, made, updated, f"v{count}", count))
        updated = max((i.update_time for i in listed), default=created)
        shared, outside = r % 4 == 3, r % 3 != 2
        registry.append(Repo(f"repo-{r + 1:02d}", created, updated, "", shared, outside, listed))
    return registry


def golden_fleet() -> Fleet:
    """Build the small, fully fixed fleet used by golden-file tests."""
    long_name = "uhub.service.ucloud.cn/golden/" + "very-long-name-" * 13
    long_name = (long_name + "x" * 220)[:220]
    bj2 = [
        Bucket('golden/quote"name', "Private", 3, 1_600_000_000),
        Bucket("golden\\back\\slash", "Public", 0, 1_600_000_100),
        Bucket("golden/new\nline", "Private", 7, 1_600_000_200),
        Bucket("ucsdr.ucloud.cn:5000/ucs/helloworld:6", "Public", 10, 1_234_567_890, shared=True),
        Bucket("镜像仓库/测试", "Private", 42, 1_650_000_000),
        Bucket(long_name, "Public", 500, 1_700_000_000),
    ]
    sh2 = [
        Bucket("golden/alpha", "Private", 1, 1_500_000_000),
        Bucket("golden/beta", "Public", 12, 1_510_000_000),
        Bucket("golden/gamma", "Private", 250, 1_520_000_000),
    ]
    regions = {"cn-bj2": bj2, "cn-sh2": sh2, "hk": []}
    repos = [  # UHub, listed only by accounts configured with uhub: true
        Repo("golden", 1_600_000_000, 1_700_000_000, images=[
            Image("web", 1200, 1_600_000_000, 1_700_000_000, tags=760),
            Image("db", 0, 1_600_000_000, 1_650_000_000, tags=2),
        ]),
        Repo("golden-public", 1_600_000_000, 1_600_000_000, shared=True, outside=False,
             images=[Image("base", 5, 1_600_000_000, 1_600_000_000)]),
    ]  # fmt: skip
    account = Account(GOLDEN_PUBLIC_KEY, GOLDEN_PRIVATE_KEY, {GOLDEN_PROJECT}, regions)
    account.repos = repos
    return Fleet([account])
