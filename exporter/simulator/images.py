"""Data of the images UCloud keeps outside UHub: Docker images in image buckets (UGC) and
custom UHost (machine) images, given one by one or generated on demand.

A :class:`~exporter.simulator.model.Bucket`'s ``docker_images`` is a list of
:class:`DockerImage` or :class:`GeneratedDockerImages`; a project's ``host_images`` maps a
region to a list of :class:`HostImage` or :class:`GeneratedHostImages`. Generated sequences
make an entry when it is asked for and hold none, so 1,000 buckets of 50 images each cost
1,000 small objects. :mod:`exporter.simulator.ugc_images` and
:mod:`exporter.simulator.host_images` serve them.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Generic, TypeVar, overload

__all__ = [
    "HOST_IMAGE_STATES",
    "OS_TYPES",
    "DockerImage",
    "DockerTag",
    "Generated",
    "GeneratedDockerImages",
    "GeneratedHostImages",
    "HostImage",
    "eol_date",
    "resource_id",
]

#: ``State`` values of ``DescribeImage`` (UHostImageSet.State in the SDKs' models).
HOST_IMAGE_STATES = ("Available", "Making", "Unavailable", "Copying")
#: ``OsType`` values of ``DescribeImage``.
OS_TYPES = ("Linux", "Windows")
#: (OsName, OsType, ImageSize) of generated host images; sizes in GB (see host_images).
_OSES = (
    ("CentOS 7.9 64位", "Linux", 20),
    ("Ubuntu 22.04 64位", "Linux", 20),
    ("Debian 12.0 64位", "Linux", 20),
    ("Windows 2019 数据中心版 64位 中文版", "Windows", 40),
)
_CST = timezone(timedelta(hours=8), "CST")

T = TypeVar("T")


def eol_date(seconds: int) -> str:
    """Write Unix ``seconds`` as ``MaintainEol`` does: ``YYYY/MM/DD``, UTC+08:00's date."""
    return datetime.fromtimestamp(seconds, _CST).strftime("%Y/%m/%d")


@dataclass(frozen=True, slots=True)
class DockerTag:
    """One tag of a Docker image in a bucket (``TagSet[]``: ``TagName``, ``CreateTime``)."""

    name: str
    create_time: int  # unix seconds


@dataclass(slots=True)
class DockerImage:
    """One Docker image of an image bucket, as GetDockerImageList reports it.

    ``resource_id`` "" is reported as ``uimg-`` + 8 hex digits of the CRC-32 of
    ``bucket/name`` (the real format is undocumented).
    """

    name: str
    tags: Sequence[DockerTag] = ()
    update_time: int = 0  # unix seconds
    resource_id: str = ""


@dataclass(slots=True)
class HostImage:
    """One custom UHost image of a project's region, as DescribeImage reports it.

    ``zone`` "" is reported as the region's first zone (``<region>-01``); ``maintain_eol`` is
    ``YYYY/MM/DD`` or "" (unknown); ``size`` is ``ImageSize`` as is (GB in this simulator).
    """

    id: str
    name: str
    create_time: int  # unix seconds
    os_name: str = "CentOS 7.9 64位"
    os_type: str = "Linux"
    state: str = "Available"
    size: int = 20
    maintain_eol: str = ""
    zone: str = ""
    description: str = ""

    def __post_init__(self) -> None:
        """Reject a state or OS type DescribeImage never reports."""
        if self.state not in HOST_IMAGE_STATES:
            raise ValueError(f"state must be one of {', '.join(HOST_IMAGE_STATES)}")
        if self.os_type not in OS_TYPES:
            raise ValueError(f"os_type must be one of {', '.join(OS_TYPES)}")
        if self.size < 0:
            raise ValueError("size must be >= 0")


class Generated(Sequence[T], Generic[T]):
    """``count`` entries made by ``_make(k)`` when asked for, none held."""

    def __init__(self, count: int) -> None:
        """Describe ``count`` entries."""
        if count < 0:
            raise ValueError("count must be >= 0")
        self.size = count
        self._width = max(5, len(str(count)))

    def __len__(self) -> int:
        """Return how many entries there are."""
        return self.size

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> list[T]: ...
    def __getitem__(self, index: int | slice) -> T | list[T]:
        """Make entry ``index`` (or the entries of a slice)."""
        if isinstance(index, slice):
            return [self._make(k) for k in range(*index.indices(self.size))]
        k = index + self.size if index < 0 else index
        if not 0 <= k < self.size:
            raise IndexError("index out of range")
        return self._make(k)

    def _make(self, k: int) -> T:
        raise NotImplementedError


class GeneratedDockerImages(Generated[DockerImage]):
    """``count`` Docker images of ``tags`` tags each, made when asked for.

    Image ``k`` (from 0) is ``image-<k+1>`` zero-padded to at least five digits; its tags are
    ``v1`` ... ``v<tags>``, tag ``j`` created ``create_time + j * 3600`` (``v1`` oldest), and
    it was updated ``update_time - k`` (never before its newest tag).
    """

    def __init__(self, count: int, tags: int, create_time: int, update_time: int) -> None:
        """Describe ``count`` images of ``tags`` tags, created from ``create_time`` on."""
        super().__init__(count)
        if tags < 0:
            raise ValueError("tags must be >= 0")
        self.tags, self.create_time, self.update_time = tags, create_time, update_time

    def _make(self, k: int) -> DockerImage:
        tags = [DockerTag(f"v{j + 1}", self.create_time + j * 3600) for j in range(self.tags)]
        newest = tags[-1].create_time if tags else self.create_time
        name = f"image-{k + 1:0{self._width}d}"
        return DockerImage(name, tags, max(newest, self.update_time - k))


class GeneratedHostImages(Generated[HostImage]):
    """``count`` custom host images of ``region``, made when asked for.

    Image ``k`` (from 0) is ``uimage-<region>-<k+1>`` (five digits at least) called
    ``custom-<k+1>``, created ``create_time - k * 86400``; OS, type and size cycle through four
    (CentOS 7.9, Ubuntu 22.04, Debian 12, Windows 2019: 20 GB, 40 GB for Windows); every
    seventh (k % 7 == 6) is ``Making``, the rest ``Available``; no ``MaintainEol``.
    """

    def __init__(self, count: int, region: str, create_time: int) -> None:
        """Describe ``count`` images of ``region``, the newest created at ``create_time``."""
        super().__init__(count)
        self.region, self.create_time = region, create_time

    def _make(self, k: int) -> HostImage:
        os_name, os_type, size = _OSES[k % len(_OSES)]
        number = f"{k + 1:0{self._width}d}"
        return HostImage(
            f"uimage-{self.region}-{number}",
            f"custom-{number}",
            self.create_time - k * 86_400,
            os_name,
            os_type,
            "Making" if k % 7 == 6 else "Available",
            size,
        )


def resource_id(bucket: str, image: DockerImage) -> str:
    """Return the ``ResourceId`` of ``image`` in ``bucket`` (its own, else a derived one)."""
    if image.resource_id:
        return image.resource_id
    crc = zlib.crc32(f"{bucket}/{image.name}".encode("utf-8", "surrogatepass"))
    return f"uimg-{crc:08x}"
