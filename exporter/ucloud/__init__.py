"""UCloud API client: signing, errors, the paged ``GetImageBucketList`` listing, regions,
projects, UHub, Docker images in buckets (UGC) and custom host images (UHost)."""

from __future__ import annotations

from exporter.ucloud._auth import UCloudAuth, sign
from exporter.ucloud._buckets import Bucket, Buckets, as_columns
from exporter.ucloud._client import USER_AGENT, KeyProvider, Observer, UCloudClient, static_key
from exporter.ucloud._docker_images import DockerImage, DockerImages, list_docker_images
from exporter.ucloud._errors import (
    APIError,
    CredentialsError,
    DeadlineExceeded,
    DecodeError,
    HTTPStatusError,
    ListingTooLarge,
    PagingError,
    RequestTimeout,
    TransportError,
    UCloudError,
)
from exporter.ucloud._host_images import (
    STATES,
    UNKNOWN_STATE,
    HostImage,
    HostImages,
    list_host_images,
)
from exporter.ucloud._listing import Listing, list_image_buckets
from exporter.ucloud._projects import Project, get_projects
from exporter.ucloud._regions import get_regions
from exporter.ucloud._sts import assume_role
from exporter.ucloud._times import parse_time
from exporter.ucloud._transport import TRANSPORTS
from exporter.ucloud._uhub import Image, Registry, Repo, list_registry

__all__ = [
    "STATES",
    "TRANSPORTS",
    "UNKNOWN_STATE",
    "USER_AGENT",
    "APIError",
    "Bucket",
    "Buckets",
    "CredentialsError",
    "DeadlineExceeded",
    "DecodeError",
    "DockerImage",
    "DockerImages",
    "HTTPStatusError",
    "HostImage",
    "HostImages",
    "Image",
    "KeyProvider",
    "Listing",
    "ListingTooLarge",
    "Observer",
    "PagingError",
    "Project",
    "Registry",
    "Repo",
    "RequestTimeout",
    "TransportError",
    "UCloudAuth",
    "UCloudClient",
    "UCloudError",
    "as_columns",
    "assume_role",
    "get_projects",
    "get_regions",
    "list_docker_images",
    "list_host_images",
    "list_image_buckets",
    "list_registry",
    "parse_time",
    "sign",
    "static_key",
]
