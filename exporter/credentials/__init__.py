"""Where an account's keys come from.

Today: written in the configuration or its key files, the environment
(``UCLOUD_PUBLIC_KEY``/``UCLOUD_PRIVATE_KEY``; both read by :mod:`exporter.accounts`), and
ucloud-cli's profiles (:mod:`exporter.credentials.profile`). :mod:`exporter.accounts` owns the
``accounts:`` section and asks this package for a profile's keys and settings.
"""

from __future__ import annotations

from exporter.credentials.profile import (
    MAX_SHARED_FILE_BYTES,
    Profile,
    ProfileError,
    load_profile,
    shared_files,
)

__all__ = ["MAX_SHARED_FILE_BYTES", "Profile", "ProfileError", "load_profile", "shared_files"]
