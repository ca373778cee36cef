"""Background sources: data refreshed on its own interval, never on the scrape path.

``refresh`` holds the one mechanism (interval, data age, error info, isolation, reload) that
every source shares; each other module is one kind of data (``uhub`` the UHub registries,
``docker_images`` the images inside buckets, ``host_images`` custom host images).
"""

from exporter.sources.docker_images import DOCKER_IMAGES, DockerImagesState, InsideBuckets
from exporter.sources.host_images import HOST_IMAGES, HostImagesState
from exporter.sources.refresh import Call, Projects, Source, SourceBook, SourceState
from exporter.sources.uhub import UHUB, UHubBook, UHubSource, UHubState

__all__ = [
    "DOCKER_IMAGES",
    "HOST_IMAGES",
    "UHUB",
    "Call",
    "DockerImagesState",
    "HostImagesState",
    "InsideBuckets",
    "Projects",
    "Source",
    "SourceBook",
    "SourceState",
    "UHubBook",
    "UHubSource",
    "UHubState",
]
