"""Fleet files: a simulated fleet, odd gateway behaviour included, written as YAML.

``python -m exporter.simulator --fleet-file hostile.yaml`` serves a file like::

    accounts:
      - public_key: hostile-public-key
        private_key: hostile-private-key
        projects:                        # optional; the first id is the default project's
          - org-hostile                  # an id of the default project (its data: below)
          - id: org-team-b               # another project, with its own data
            name: team-b                 # every field but id optional
            create_time: 1600000000
            member_count: 3
            regions: {cn-bj2: {synthetic: 5}, hk: {}}   # as the account's regions below
            repos: [{name: web, images: 3}]             # as the account's repos below
        default_project_name: main       # the default project's ProjectName (default "Default")
        default_project_created: 1500000000   # its CreateTime
        default_project_members: 12      # its MemberCount
        may_list_projects: false         # GetProjectList answers RetCode 299 (default true)
        project_order: default_last      # default_first (default), default_last or shuffled
        throttle: {per_second: 30, burst: 15}  # RetCode 153 beyond that rate (optional)
        regions:                         # optional (none: a UHub-only account)
          cn-bj2:
            buckets:                     # listed one by one; every field but name optional
              - {name: "bad\\ud800name", type: Private, images: 3, created: 1600000000}
          cn-sh2:
            synthetic: 50000             # generated buckets: bucket-00001, ...
            quirks: {ignore_offset: true, ignore_limit: true}
          hk:
            synthetic: 5
            quirks: {total_count: 100000}
          cn-gd:
            synthetic: 1000
            synthetic_docker_images: 50  # each synthetic bucket: 50 generated Docker images
            buckets:
              - name: web                # GetDockerImageList: its Docker images, listed...
                docker_images:
                  - {name: frontend, update_time: 1700000000, resource_id: uimg-1,
                     tags: [{name: v1, create_time: 1600000000},
                            {name: v2, create_time: 1700000000}]}
                  - {name: worker, tags: 4}   # tags v1..v4, an hour apart from FIXED_EPOCH
              - {name: big, docker_images: 600, docker_tags: 2}   # ...or generated
              - {name: gone, vanished: true}   # listed, but GetDockerImageList answers 43023
            host_images:                 # DescribeImage ImageType=Custom; or a number: generated
              - {id: uimage-abc, name: base-2024, create_time: 1700000000, os_name: Ubuntu 22.04,
                 os_type: Linux, state: Unavailable, size: 40, maintain_eol: 2027/04/30,
                 zone: cn-gd-02, description: golden image}
            action_quirks:               # quirks of the image actions in this region
              GetDockerImageList: {name_key: both, ignore_offset: true}
              DescribeImage: {total_count: 3, omit_fields: [MaintainEol]}
        uhub_time_format: rfc3339        # unix, unix_string, rfc3339 or datetime (default)
        repos:                           # UHub (cross-region); every field but name optional
          - name: web
            create_time: 1600000000      # unix seconds, like every time here
            update_time: 1700000000
            description: storefront
            shared: false                # IsShared: GetRepo Type=public lists it, else private
            outside: true                # IsOutSide: reachable from the internet
            images:
              - {name: frontend, pull_count: 1200, create_time: 1600000000,
                 update_time: 1700000000, latest_tag: v760, tags: 760}
          - name: huge
            images: 600000               # generated on the fly, none held: image-000001, ...

An account's ``regions``, ``repos`` and ``quirks`` are its default project's data; a project
listed as a mapping under ``projects`` (fields of :class:`~exporter.simulator.model.ProjectData`)
holds its own, and GetRegion lists every project's regions. Plain ids under ``projects`` all
reach the default project; the first is the id GetProjectList reports (none: ``org-default``).
``quirks`` takes the fields of :class:`~exporter.simulator.model.Quirks`, a repository those of
:class:`~exporter.simulator.model.Repo` and an image those of
:class:`~exporter.simulator.model.Image` (times default to ``FIXED_EPOCH``). A repository's
``images`` is a list, or a number: that many images generated when a request asks for them
(:class:`~exporter.simulator.model.GeneratedImages`: ``image-<n>`` zero-padded to at least
five digits so name order is listing order, one ``latest`` tag, times within the repository's
``create_time`` and ``update_time``), so a registry of 600,000 images costs no memory and a
page of it only its own entries. A mistake raises ``ValueError`` naming its key path.

Images outside UHub (:mod:`exporter.simulator.images`): a bucket's ``docker_images`` is a list
(fields of :class:`~exporter.simulator.images.DockerImage`; ``tags`` a list of ``{name,
create_time}`` or a number of tags ``v1``... an hour apart from ``FIXED_EPOCH``) or a number
(:class:`~exporter.simulator.images.GeneratedDockerImages`, ``docker_tags`` tags each, default
3); a region's ``synthetic_docker_images`` gives each of its ``synthetic`` buckets that many
generated ones. A region's ``host_images`` is a list (fields of
:class:`~exporter.simulator.images.HostImage`) or a number
(:class:`~exporter.simulator.images.GeneratedHostImages`). ``action_quirks`` maps
``GetDockerImageList`` or ``DescribeImage`` to quirks as above (``name_key``: ``BucketName``,
``ImageName`` or ``both``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from exporter.simulator.fleet import FIXED_EPOCH
from exporter.simulator.gateway import IMAGE_ACTIONS
from exporter.simulator.images import (
    DockerImage,
    DockerTag,
    GeneratedDockerImages,
    GeneratedHostImages,
    HostImage,
)
from exporter.simulator.model import (
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

__all__ = ["fleet_from_dict", "load_fleet"]

_QUIRK_FIELDS = {f.name: f for f in dataclasses.fields(Quirks)}
#: The most images one repository may generate (``images: <count>``).
MAX_GENERATED_IMAGES = 100_000_000


def load_fleet(path: str | Path) -> Fleet:
    """Read a fleet file."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: cannot read the fleet file: {exc}") from exc
    return fleet_from_dict(data, source=str(path))


def fleet_from_dict(data: Any, *, source: str = "fleet") -> Fleet:
    """Build a fleet from the parsed contents of a fleet file."""
    accounts = _mapping(data, source).get("accounts")
    if not isinstance(accounts, list) or not accounts:
        raise ValueError(f"{source}: accounts: must be a non-empty list")
    return Fleet(_account(a, f"{source}: accounts[{i}]") for i, a in enumerate(accounts))


def _account(raw: Any, path: str) -> Account:
    a = _mapping(raw, path)
    keys = [a.get("public_key"), a.get("private_key")]
    if not all(isinstance(k, str) and k for k in keys):
        raise ValueError(f"{path}: public_key and private_key must be non-empty strings")
    listed = [] if a.get("projects") is None else a["projects"]
    if not isinstance(listed, list):
        raise ValueError(f"{path}.projects: must be a list")
    ids = [str(p) for p in listed if not isinstance(p, Mapping)]
    account = Account(str(keys[0]), str(keys[1]), set(ids), default_project=next(iter(ids), ""))
    if "throttle" in a:
        account.throttle = _throttle(a["throttle"], f"{path}.throttle")
    if "uhub_time_format" in a:
        if a["uhub_time_format"] not in UHUB_TIME_FORMATS:
            formats = ", ".join(UHUB_TIME_FORMATS)
            raise ValueError(f"{path}.uhub_time_format: must be one of {formats}")
        account.uhub_time_format = a["uhub_time_format"]
    account.repos = _repos(a, path)
    account.regions, account.quirks, account.host_images, account.action_quirks = _regions(a, path)
    _default_project(account, a, path)
    account.extra_projects = [
        _project(p, f"{path}.projects[{i}]") for i, p in enumerate(listed) if isinstance(p, Mapping)
    ]
    _unique([*ids, *(p.id for p in account.extra_projects)], f"{path}.projects", key="id")
    return account


def _default_project(account: Account, a: Mapping[str, Any], path: str) -> None:
    """Set what the account's keys say of its default project and of GetProjectList."""
    account.default_project_name = _text(a, "default_project_name", path, "Default")
    account.default_project_created = _number(a, "default_project_created", path, FIXED_EPOCH)
    account.default_project_members = _number(a, "default_project_members", path, 1, count=True)
    account.may_list_projects = _flag(a, "may_list_projects", path, True)
    order = a.get("project_order", "default_first")
    if order not in PROJECT_ORDERS:
        raise ValueError(f"{path}.project_order: must be one of {', '.join(PROJECT_ORDERS)}")
    account.project_order = order


def _project(raw: Any, path: str) -> ProjectData:
    p = _fields(raw, path, ProjectData)
    resources = p.get("resource_count")
    regions, quirks, host_images, action_quirks = _regions(p, path)
    return ProjectData(
        _text(p, "id", path, None),
        _text(p, "name", path, ""),
        _number(p, "create_time", path, FIXED_EPOCH),
        _number(p, "member_count", path, 1, count=True),
        regions,
        _repos(p, path),
        quirks,
        None if resources is None else _number(p, "resource_count", path, 0, count=True),
        host_images,
        action_quirks,
    )


def _repos(m: Mapping[str, Any], path: str) -> list[Repo]:
    """Read the ``repos`` of an account or a project."""
    raw = [] if m.get("repos") is None else m["repos"]
    if not isinstance(raw, list):
        raise ValueError(f"{path}.repos: must be a list")
    repos = [_repo(r, f"{path}.repos[{i}]") for i, r in enumerate(raw)]
    _unique([r.name for r in repos], f"{path}.repos")
    return repos


_Regions = tuple[
    dict[str, list[Bucket]],
    dict[str, Quirks],
    dict[str, Sequence[HostImage]],
    dict[str, dict[str, Quirks]],
]


def _regions(m: Mapping[str, Any], path: str) -> _Regions:
    """Read the ``regions`` of an account or a project: buckets, quirks, host images and the
    image actions' quirks by region."""
    regions: dict[str, list[Bucket]] = {}
    quirks: dict[str, Quirks] = {}
    host_images: dict[str, Sequence[HostImage]] = {}
    action_quirks: dict[str, dict[str, Quirks]] = {}
    for region, spec in _mapping(m.get("regions", {}), f"{path}.regions").items():
        where = f"{path}.regions.{region}"
        r = _mapping(spec or {}, where)
        regions[str(region)] = _buckets(r, where)
        if "quirks" in r:
            quirks[str(region)] = _quirks(r["quirks"], f"{where}.quirks")
        if r.get("host_images") is not None:
            host_images[str(region)] = _host_images(r["host_images"], str(region), where)
        for action, raw in _mapping(r.get("action_quirks") or {}, f"{where}.action_quirks").items():
            if action not in IMAGE_ACTIONS:
                known = ", ".join(IMAGE_ACTIONS)
                raise ValueError(f"{where}.action_quirks.{action}: unknown action (known: {known})")
            q = _quirks(raw, f"{where}.action_quirks.{action}")
            action_quirks.setdefault(str(action), {})[str(region)] = q
    return regions, quirks, host_images, action_quirks


def _buckets(r: Mapping[str, Any], path: str) -> list[Bucket]:
    synthetic = r.get("synthetic", 0)
    if isinstance(synthetic, bool) or not isinstance(synthetic, int) or synthetic < 0:
        raise ValueError(f"{path}.synthetic: must be a non-negative integer")
    generated = _number(r, "synthetic_docker_images", path, 0, count=True)
    buckets = [
        Bucket(f"bucket-{i:05d}", "Private" if i % 5 else "Public", i % 50, FIXED_EPOCH - i)
        for i in range(1, synthetic + 1)
    ]
    if generated:
        for bucket in buckets:
            bucket.docker_images = GeneratedDockerImages(
                generated, 3, bucket.create_time, FIXED_EPOCH
            )
    listed = r.get("buckets") or []
    if not isinstance(listed, list):
        raise ValueError(f"{path}.buckets: must be a list")
    for i, raw in enumerate(listed):
        where = f"{path}.buckets[{i}]"
        b = _mapping(raw, where)
        if not isinstance(b.get("name"), str):
            raise ValueError(f"{where}.name: must be a string")
        buckets.append(
            Bucket(
                b["name"],
                str(b.get("type", "Private")),
                int(b.get("images", 0)),
                int(b.get("created", FIXED_EPOCH)),
                docker_images=_docker_images(b, where),
                vanished=_flag(b, "vanished", where, False),
            )
        )
    return buckets


def _docker_images(b: Mapping[str, Any], path: str) -> Sequence[DockerImage]:
    """Read a bucket's ``docker_images``: a list, or a number to generate."""
    raw = [] if b.get("docker_images") is None else b["docker_images"]
    tags = _number(b, "docker_tags", path, 3, count=True)
    if isinstance(raw, int) and not isinstance(raw, bool):
        if not 0 <= raw <= MAX_GENERATED_IMAGES:
            raise ValueError(f"{path}.docker_images: must be 0 to {MAX_GENERATED_IMAGES} or a list")
        return GeneratedDockerImages(raw, tags, FIXED_EPOCH, FIXED_EPOCH)
    if not isinstance(raw, list):
        raise ValueError(f"{path}.docker_images: must be a list or a number of images to generate")
    images = [_docker_image(m, f"{path}.docker_images[{i}]") for i, m in enumerate(raw)]
    _unique([i.name for i in images], f"{path}.docker_images")
    return images


def _docker_image(raw: Any, path: str) -> DockerImage:
    m = _fields(raw, path, DockerImage)
    tags = [] if m.get("tags") is None else m["tags"]
    listed: list[DockerTag]
    if isinstance(tags, int) and not isinstance(tags, bool) and tags >= 0:
        listed = [DockerTag(f"v{j + 1}", FIXED_EPOCH + j * 3600) for j in range(tags)]
    elif isinstance(tags, list):
        listed = []
        for j, t in enumerate(tags):
            tag = _mapping(t, f"{path}.tags[{j}]")
            name = _text(tag, "name", f"{path}.tags[{j}]", None)
            listed.append(DockerTag(name, _number(tag, "create_time", path, FIXED_EPOCH)))
    else:
        raise ValueError(f"{path}.tags: must be a list or a number of tags")
    newest = max((t.create_time for t in listed), default=FIXED_EPOCH)
    return DockerImage(
        _text(m, "name", path, None),
        listed,
        _number(m, "update_time", path, newest),
        _text(m, "resource_id", path, ""),
    )


def _host_images(raw: Any, region: str, path: str) -> Sequence[HostImage]:
    """Read a region's ``host_images``: a list, or a number to generate."""
    where = f"{path}.host_images"
    if isinstance(raw, int) and not isinstance(raw, bool):
        if not 0 <= raw <= MAX_GENERATED_IMAGES:
            raise ValueError(f"{where}: must be 0 to {MAX_GENERATED_IMAGES} or a list")
        return GeneratedHostImages(raw, region, FIXED_EPOCH)
    if not isinstance(raw, list):
        raise ValueError(f"{where}: must be a list or a number of images to generate")
    images = [_host_image(m, f"{where}[{i}]") for i, m in enumerate(raw)]
    _unique([i.id for i in images], where, key="id")
    return images


def _host_image(raw: Any, path: str) -> HostImage:
    m = _fields(raw, path, HostImage)
    try:
        return HostImage(
            _text(m, "id", path, None),
            _text(m, "name", path, ""),
            _number(m, "create_time", path, FIXED_EPOCH),
            _text(m, "os_name", path, "CentOS 7.9 64位"),
            _text(m, "os_type", path, "Linux"),
            _text(m, "state", path, "Available"),
            _number(m, "size", path, 20, count=True),
            _text(m, "maintain_eol", path, ""),
            _text(m, "zone", path, ""),
            _text(m, "description", path, ""),
        )
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc


def _repo(raw: Any, path: str) -> Repo:
    r = _fields(raw, path, Repo)
    images = [] if r.get("images") is None else r["images"]
    created = _number(r, "create_time", path, FIXED_EPOCH)
    updated = _number(r, "update_time", path, FIXED_EPOCH)
    listed: Sequence[Image]
    if isinstance(images, int) and not isinstance(images, bool):
        if not 0 <= images <= MAX_GENERATED_IMAGES:
            raise ValueError(f"{path}.images: must be 0 to {MAX_GENERATED_IMAGES} or a list")
        listed = GeneratedImages(images, created, updated)
    elif isinstance(images, list):
        listed = [_image(m, f"{path}.images[{i}]") for i, m in enumerate(images)]
        _unique([i.name for i in listed], f"{path}.images")
    else:
        raise ValueError(f"{path}.images: must be a list or a number of images to generate")
    return Repo(
        _text(r, "name", path, None),
        created,
        updated,
        _text(r, "description", path, ""),
        _flag(r, "shared", path, False),
        _flag(r, "outside", path, True),
        listed,
    )


def _image(raw: Any, path: str) -> Image:
    m = _fields(raw, path, Image)
    return Image(
        _text(m, "name", path, None),
        _number(m, "pull_count", path, 0, count=True),
        _number(m, "create_time", path, FIXED_EPOCH),
        _number(m, "update_time", path, FIXED_EPOCH),
        _text(m, "latest_tag", path, "latest"),
        _number(m, "tags", path, 1, count=True),
    )


def _fields(
    raw: Any, path: str, kind: type[Repo | Image | ProjectData | DockerImage | HostImage]
) -> Mapping[str, Any]:
    m = _mapping(raw, path)
    known = [f.name for f in dataclasses.fields(kind) if f.name != "quirks"]  # under regions
    unknown = sorted(set(m) - set(known))
    if unknown:
        raise ValueError(f"{path}.{unknown[0]}: unknown field (known: {', '.join(known)})")
    return m


def _unique(names: list[str], path: str, *, key: str = "name") -> None:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            where = f"{path}[{i}].name:" if key == "name" else f"{path}: {key}"
            raise ValueError(f"{where} {name!r} is listed twice")
        seen.add(name)


def _text(m: Mapping[str, Any], key: str, path: str, default: str | None) -> str:
    value = m.get(key, default)
    if not isinstance(value, str) or (default is None and not value):
        raise ValueError(f"{path}.{key}: must be a {'non-empty ' if default is None else ''}string")
    return value


def _number(m: Mapping[str, Any], key: str, path: str, default: int, *, count: bool = False) -> int:
    value = m.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or (count and value < 0):
        raise ValueError(f"{path}.{key}: must be {'a non-negative' if count else 'an'} integer")
    return value


def _flag(m: Mapping[str, Any], key: str, path: str, default: bool) -> bool:
    value = m.get(key, default)
    if not isinstance(value, bool):
        raise ValueError(f"{path}.{key}: must be true or false")
    return value


def _throttle(raw: Any, path: str) -> tuple[float, float]:
    t = _mapping(raw, path)
    rate, burst = t.get("per_second"), t.get("burst", 1)
    for name, value in (("per_second", rate), ("burst", burst)):
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ValueError(f"{path}.{name}: must be a positive number")
    return float(rate), float(burst)  # type: ignore[arg-type]


def _quirks(raw: Any, path: str) -> Quirks:
    q = dict(_mapping(raw, path))
    unknown = sorted(set(q) - set(_QUIRK_FIELDS))
    if unknown:
        raise ValueError(f"{path}.{unknown[0]}: unknown quirk (known: {', '.join(_QUIRK_FIELDS)})")
    if "omit_fields" in q:
        q["omit_fields"] = tuple(q["omit_fields"] or ())
    try:
        return Quirks(**q)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: {exc}") from exc


def _mapping(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{path}: must be a mapping")
    return value
