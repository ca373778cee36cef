"""Background sources: data refreshed on its own interval, never on the scrape path.

``refresh`` holds the one mechanism (interval, data age, error info, isolation, reload) that
every source shares; each other module is one kind of data (``uhub`` the UHub registries).
"""

from exporter.sources.refresh import Call, Projects, Source, SourceBook, SourceState
from exporter.sources.uhub import UHUB, UHubBook, UHubSource, UHubState

__all__ = [
    "UHUB",
    "Call",
    "Projects",
    "Source",
    "SourceBook",
    "SourceState",
    "UHubBook",
    "UHubSource",
    "UHubState",
]
