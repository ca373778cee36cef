"""Data model: simulated accounts, their projects, buckets per region and UHub repositories.

An account's own ``regions``, ``repos`` and ``quirks`` are its default project's data (the
project a request without ``ProjectId`` reaches, ``IsDefault`` in GetProjectList); each other
project (:class:`ProjectData`, in :attr:`Account.extra_projects`) holds its own. Regions are
account-wide (GetRegion lists every region any project has); a project without buckets in one
of them lists none there.
"""

from __future__ import annotations

import contextlib
import dataclasses
import random
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from exporter.simulator.images import DockerImage, Generated, HostImage

__all__ = [
    "UHUB_TIME_FORMATS",
    "Account",
    "Bucket",
    "Fleet",
    "GeneratedImages",
    "Image",
    "ProjectData",
    "Quirks",
    "Repo",
]

#: How UHub answers may write CreateTime/UpdateTime (the format is undocumented): a JSON number
#: of Unix seconds, those seconds as a string, RFC 3339 at +08:00, or ``YYYY-MM-DD HH:MM:SS``
#: in China Standard Time (UTC+08:00).
UHUB_TIME_FORMATS = ("unix", "unix_string", "rfc3339", "datetime")
#: How GetProjectList may order ``ProjectSet`` (the order is undocumented): the default project
#: first (as the API reference's example does), the default project last, or shuffled (a fixed
#: order per account; the default never first when there are two projects or more).
PROJECT_ORDERS = ("default_first", "default_last", "shuffled")
#: :attr:`Quirks.name_key` values.
NAME_KEYS = ("", "BucketName", "ImageName", "both")
#: The default project's id of an account created with no ``projects`` at all.
FALLBACK_PROJECT = "org-default"
#: CreateTime of a project that gives none (2020-09-13T12:26:40Z).
PROJECT_CREATED = 1_600_000_000


@dataclass(slots=True)
class Bucket:
    """One image bucket (repository) as GetImageBucketList reports it."""

    name: str
    type: str  # "Private" or "Public", the API's BucketType response values
    image_count: int
    create_time: int  # unix seconds
    shared: bool = False  # a third-party public image (filter "Share"); else the user's own
    # GetDockerImageList (exporter.simulator.ugc_images): a list, or GeneratedDockerImages
    docker_images: Sequence[DockerImage] = ()
    vanished: bool = False  # listed, but GetDockerImageList answers 43023 (deleted meanwhile)

    def to_item(self) -> dict[str, object]:
        """Render this bucket as an ``ImageSet`` item."""
        return {
            "BucketName": self.name,
            "BucketType": self.type,
            "ImageCount": self.image_count,
            "CreateTime": self.create_time,
        }


@dataclass(frozen=True)
class Quirks:
    """Odd but possible listing behaviour (all off by default).

    A region's own quirks shape its GetImageBucketList answers; a one-off ``Fault(quirks=...)``
    shapes any listing action's, UHub's (GetRepo, GetRepoImage, GetImageTag) included.

    Every response field is optional in the API reference and no maximum ``Limit`` is
    documented, so a real gateway may omit zero values or clamp or stretch pages; the rest are
    plain lies a broken gateway tells. The exporter must survive each.
    """

    total_count: int | None = None  # report this TotalCount instead of the truth
    omit_total: bool = False  # leave TotalCount out
    ignore_offset: bool = False  # every page starts at the first bucket
    ignore_limit: bool = False  # every page runs to the end of the list
    page_entries: int | None = None  # every page holds this many entries, whatever Limit asks
    omit_zero: bool = False  # leave out fields whose value is 0 (ImageCount, PullCount)
    omit_fields: tuple[str, ...] = ()  # leave these fields out of every entry
    delay_seconds: float = 0.0  # answer this much later
    # GetDockerImageList: the key of an image's name, "" the documented BucketName,
    # "ImageName" (as the API reference's sample) or "both"
    name_key: str = ""

    def __post_init__(self) -> None:
        """Reject values that cannot be served."""
        if self.name_key not in NAME_KEYS:
            raise ValueError(f"name_key must be one of {', '.join(map(repr, NAME_KEYS))}")
        for name in ("total_count", "page_entries"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must be >= 0")
        if self.delay_seconds < 0:
            raise ValueError("delay_seconds must be >= 0")


NO_QUIRKS = Quirks()


@dataclass(slots=True)
class Image:
    """One image of a UHub repository, as GetRepoImage reports it.

    Its tags are not stored: GetImageTag generates ``tags`` of them (``latest_tag`` the newest).
    """

    name: str
    pull_count: int
    create_time: int  # unix seconds
    update_time: int  # unix seconds
    latest_tag: str = "latest"
    tags: int = 1  # how many tags GetImageTag reports


class GeneratedImages(Generated[Image]):
    """``count`` images made when asked for, none held: a registry of any size costs nothing.

    Image ``k`` (from 0) is ``image-<k+1>``, zero-padded to at least five digits so that name
    order is listing order; ``pull_count`` ``k * 7919 % 100000``, one tag (``latest``), and
    the times ``create_time`` and ``update_time - k`` (never before ``create_time``).
    """

    def __init__(self, count: int, create_time: int, update_time: int) -> None:
        """Describe ``count`` images with times within [create_time, update_time]."""
        super().__init__(count)
        self.create_time, self.update_time = create_time, update_time

    def find(self, name: str) -> Image | None:
        """Return the image called ``name``, if there is one (without making the others)."""
        digits = name.removeprefix("image-")
        if digits == name or len(digits) != self._width or not digits.isdigit():
            return None
        k = int(digits) - 1
        return self._make(k) if 0 <= k < self.size else None

    def _make(self, k: int) -> Image:
        updated = max(self.create_time, self.update_time - k)
        name = f"image-{k + 1:0{self._width}d}"
        return Image(name, k * 7919 % 100_000, self.create_time, updated)


@dataclass(slots=True)
class Repo:
    """One UHub repository (a namespace of images), as GetRepo reports it."""

    name: str
    create_time: int  # unix seconds
    update_time: int  # unix seconds
    description: str = ""
    shared: bool = False  # IsShared: listed by GetRepo Type=public, else Type=private
    outside: bool = True  # IsOutSide: reachable from the internet
    images: Sequence[Image] = field(default_factory=list)  # a list, or GeneratedImages

    def image(self, name: str) -> Image | None:
        """Return the image called ``name``, if the repository has one."""
        if isinstance(self.images, GeneratedImages):
            return self.images.find(name)
        return next((i for i in self.images if i.name == name), None)


@dataclass
class ProjectData:
    """One project of an account: what GetProjectList says of it, and its own data.

    ``regions`` (buckets per region, account-wide region ids), ``repos`` (UHub) and ``quirks``
    (by region) mean for this project what :class:`Account`'s own fields mean for the default
    project. ``resource_count`` is GetProjectList's ``ResourceCount`` (deprecated upstream);
    None reports this project's buckets plus repositories. ``host_images`` (custom UHost images
    by region, for DescribeImage) and ``action_quirks`` (``{action: {region: Quirks}}`` for
    GetDockerImageList and DescribeImage) likewise.
    """

    id: str
    name: str = ""
    create_time: int = PROJECT_CREATED  # unix seconds
    member_count: int = 1
    regions: dict[str, list[Bucket]] = field(default_factory=dict)
    repos: list[Repo] = field(default_factory=list)
    quirks: dict[str, Quirks] = field(default_factory=dict)  # by region
    resource_count: int | None = None
    # custom UHost images by region (DescribeImage): lists, or GeneratedHostImages
    host_images: dict[str, Sequence[HostImage]] = field(default_factory=dict)
    # quirks of other actions: {action: {region: Quirks}} (GetDockerImageList, DescribeImage)
    action_quirks: dict[str, dict[str, Quirks]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Reject an empty id and negative counts."""
        if not self.id:
            raise ValueError("a project needs a non-empty id")
        if self.member_count < 0 or (self.resource_count or 0) < 0:
            raise ValueError("member_count and resource_count must be >= 0")

    def resources(self) -> int:
        """Return ``ResourceCount``: the given one, else buckets plus repositories."""
        if self.resource_count is not None:
            return self.resource_count
        return sum(len(b) for b in self.regions.values()) + len(self.repos)


@dataclass
class Account:
    """One UCloud account: credentials, its projects and their buckets per region.

    ``projects`` are the ProjectIds that reach the default project (usually one, its id;
    several for fleets written before projects had their own data), ``default_project`` the
    one GetProjectList reports (default: the smallest of ``projects``, or ``org-default`` when
    there are none; it is added to ``projects``). ``regions``, ``quirks`` and ``repos`` are
    the default project's data (``host_images`` and ``action_quirks`` too, as in
    :class:`ProjectData`); ``extra_projects`` the account's other projects, in listing
    order. ``may_list_projects`` False makes GetProjectList answer RetCode 299 (a sub-account
    key without UAccount permission); ``project_order`` is one of ``PROJECT_ORDERS``.
    """

    public_key: str
    private_key: str = field(repr=False)
    projects: set[str] = field(default_factory=set)
    regions: dict[str, list[Bucket]] = field(default_factory=dict)
    zones_per_region: int = 2
    quirks: dict[str, Quirks] = field(default_factory=dict)  # by region
    throttle: tuple[float, float] | None = None  # (requests per second, burst): RetCode 153
    repos: list[Repo] = field(default_factory=list)  # UHub, cross-region
    uhub_time_format: str = "datetime"  # one of UHUB_TIME_FORMATS
    default_project: str = ""
    default_project_name: str = "Default"
    default_project_created: int = PROJECT_CREATED
    default_project_members: int = 1
    extra_projects: list[ProjectData] = field(default_factory=list)
    may_list_projects: bool = True
    project_order: str = "default_first"  # one of PROJECT_ORDERS
    host_images: dict[str, Sequence[HostImage]] = field(default_factory=dict)  # by region
    action_quirks: dict[str, dict[str, Quirks]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Reject a time format, an order or project ids that cannot be served."""
        if self.uhub_time_format not in UHUB_TIME_FORMATS:
            raise ValueError(f"uhub_time_format must be one of {', '.join(UHUB_TIME_FORMATS)}")
        if self.project_order not in PROJECT_ORDERS:
            raise ValueError(f"project_order must be one of {', '.join(PROJECT_ORDERS)}")
        if not self.default_project:
            self.default_project = min(self.projects, default=FALLBACK_PROJECT)
        self.projects = {*self.projects, self.default_project}  # the caller's set untouched
        self.check_projects()

    def check_projects(self) -> None:
        """Raise ValueError if two projects share an id (extra ones included)."""
        seen = set(self.projects)
        for extra in self.extra_projects:
            if extra.id in seen:
                raise ValueError(f"project id {extra.id!r} is used twice")
            seen.add(extra.id)

    def project_ids(self) -> list[str]:
        """List the projects' ids as GetProjectList reports them: the default, then the rest."""
        return [self.default_project, *(p.id for p in self.extra_projects)]

    def knows_project(self, project_id: str) -> bool:
        """Tell whether ``project_id`` names one of the account's projects."""
        return project_id in self.projects or any(p.id == project_id for p in self.extra_projects)

    def project(self, project_id: str | None = None) -> ProjectData:
        """Return the project ``project_id`` selects (None or "": the default), live.

        The default project's view shares the account's ``regions``, ``repos`` and ``quirks``
        (made anew on each call, so reassigned fields are seen). KeyError if unknown.
        """
        if not project_id or project_id in self.projects:
            return ProjectData(
                self.default_project,
                self.default_project_name,
                self.default_project_created,
                self.default_project_members,
                self.regions,
                self.repos,
                self.quirks,
                host_images=self.host_images,
                action_quirks=self.action_quirks,
            )
        for extra in self.extra_projects:
            if extra.id == project_id:
                return extra
        raise KeyError(f"unknown project {project_id!r}")

    def all_projects(self) -> list[ProjectData]:
        """Return every project, the default first."""
        return [self.project(), *self.extra_projects]

    def region_ids(self) -> list[str]:
        """List the account's regions: the default project's in order, then the others' new
        ones (GetRegion is account-wide)."""
        found = dict.fromkeys(self.regions)
        for extra in self.extra_projects:
            found.update(dict.fromkeys(extra.regions))
        return list(found)


class Fleet:
    """Thread-safe set of accounts keyed by public key, editable while serving."""

    def __init__(self, accounts: Iterable[Account]) -> None:
        """Index ``accounts`` by public key; duplicate keys (or project ids within an account,
        ``extra_projects`` set after the account was made included) are an error."""
        self._lock = threading.RLock()
        self._accounts: dict[str, Account] = {}
        for account in accounts:
            if account.public_key in self._accounts:
                raise ValueError(f"duplicate public key {account.public_key!r}")
            account.check_projects()
            self._accounts[account.public_key] = account

    def account(self, public_key: str) -> Account | None:
        """Return the account owning ``public_key``, if any."""
        with self._lock:
            return self._accounts.get(public_key)

    def public_keys(self) -> list[str]:
        """List the public keys of all accounts."""
        with self._lock:
            return list(self._accounts)

    def regions(self, public_key: str) -> list[str]:
        """List the region ids of one account (every project's), in order."""
        with self._lock:
            return self._require(public_key).region_ids()

    def has_region(self, public_key: str, region: str) -> bool:
        """Return whether one account has ``region`` (in any project, buckets or none)."""
        with self._lock:
            account = self._require(public_key)
            return region in account.regions or any(
                region in extra.regions for extra in account.extra_projects
            )

    def projects(self, public_key: str) -> list[str]:
        """List one account's project ids, the default first."""
        with self._lock:
            return self._require(public_key).project_ids()

    def targets(self, public_key: str) -> list[tuple[str, str]]:
        """List one account's (project id, region) pairs that hold at least one bucket."""
        with self._lock:
            return [
                (project.id, region)
                for project in self._require(public_key).all_projects()
                for region, buckets in project.regions.items()
                if buckets
            ]

    def buckets(self, public_key: str, region: str, *, project: str | None = None) -> list[Bucket]:
        """Return copies of one project's buckets in ``region`` (empty if none).

        ``project`` None (or "") is the account's default project, as for every method here.
        """
        with self._lock:
            found = self._project(public_key, project).regions.get(region, [])
            return [dataclasses.replace(b) for b in found]

    @contextlib.contextmanager
    def locked(self, public_key: str) -> Iterator[Account]:
        """Hold the fleet's lock and yield one account (KeyError if unknown) to read it."""
        with self._lock:
            yield self._require(public_key)

    def quirks(self, public_key: str, region: str, *, project: str | None = None) -> Quirks:
        """Return how one project's region misbehaves (``NO_QUIRKS`` by default)."""
        with self._lock:
            return self._project(public_key, project).quirks.get(region, NO_QUIRKS)

    def action_quirks(
        self, public_key: str, action: str, region: str, *, project: str | None = None
    ) -> Quirks:
        """Return how ``action`` misbehaves in one project's region (``NO_QUIRKS`` by default)."""
        with self._lock:
            by_region = self._project(public_key, project).action_quirks.get(action, {})
            return by_region.get(region, NO_QUIRKS)

    def set_quirks(
        self, public_key: str, region: str, quirks: Quirks, *, project: str | None = None
    ) -> None:
        """Make one project's region misbehave from now on."""
        with self._lock:
            self._project(public_key, project).quirks[region] = quirks

    def size(self) -> int:
        """Count all buckets of all accounts and projects."""
        with self._lock:
            return sum(len(b) for regions in self._all_regions() for b in regions.values())

    def query(
        self,
        public_key: str,
        region: str,
        *,
        name: str = "",
        shared: bool | None = None,
        offset: int = 0,
        limit: int | None = 20,
        project: str | None = None,
    ) -> tuple[int, list[dict[str, object]]]:
        """Filter one project's region's buckets and return (total matching, one page of items).

        ``limit`` None means to the end of the list.
        """
        with self._lock:
            found = self._project(public_key, project).regions.get(region, [])
            if name or shared is not None:
                found = [
                    b
                    for b in found
                    if (not name or b.name == name) and (shared is None or b.shared == shared)
                ]
            end = None if limit is None else offset + limit
            return len(found), [b.to_item() for b in found[offset:end]]

    def add_bucket(
        self,
        public_key: str,
        region: str,
        bucket: Bucket,
        *,
        index: int = 0,
        project: str | None = None,
    ) -> None:
        """Insert ``bucket`` at position ``index`` of a project's region's listing order."""
        with self._lock:
            regions = self._project(public_key, project).regions
            regions.setdefault(region, []).insert(index, bucket)

    def remove_bucket(
        self, public_key: str, region: str, name: str, *, project: str | None = None
    ) -> None:
        """Delete the bucket called ``name`` from a project's region; KeyError if absent."""
        with self._lock:
            buckets = self._project(public_key, project).regions.get(region, [])
            for position, bucket in enumerate(buckets):
                if bucket.name == name:
                    del buckets[position]
                    return
            raise KeyError(f"no bucket {name!r} in region {region!r}")

    def drift(self, rng: random.Random) -> None:
        """Nudge a few image counts per project and region up (rarely down, never below 0)."""
        with self._lock:
            for regions in self._all_regions():
                for buckets in regions.values():
                    for _ in range(min(3, len(buckets))):
                        bucket = buckets[rng.randrange(len(buckets))]
                        step = -1 if rng.random() < 0.1 else rng.randint(1, 3)
                        bucket.image_count = max(0, bucket.image_count + step)

    def _all_regions(self) -> Iterator[dict[str, list[Bucket]]]:
        """Yield every project's buckets by region, account by account (lock held)."""
        for account in self._accounts.values():
            yield account.regions
            for extra in account.extra_projects:
                yield extra.regions

    def _project(self, public_key: str, project: str | None) -> ProjectData:
        """Return one account's project (lock held); KeyError if either is unknown."""
        return self._require(public_key).project(project)

    def _require(self, public_key: str) -> Account:
        """Return the account for ``public_key`` or raise KeyError."""
        account = self._accounts.get(public_key)
        if account is None:
            raise KeyError(f"unknown public key {public_key!r}")
        return account
