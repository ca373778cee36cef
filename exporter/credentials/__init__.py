"""Where an account's keys come from.

Today: written in the configuration or its key files, the environment
(``UCLOUD_PUBLIC_KEY``/``UCLOUD_PRIVATE_KEY``; both read by :mod:`exporter.accounts`), and
ucloud-cli's profiles (:mod:`exporter.credentials.profile`); temporary keys from an instance
role (:mod:`exporter.credentials.metadata`) or STS AssumeRole (:mod:`exporter.credentials.keys`
describes both; ``exporter.ucloud._sts`` sends AssumeRole, ``exporter.keybook`` refreshes them).
:mod:`exporter.accounts` owns the ``accounts:`` section and asks this package for a profile's
keys and settings.
"""

from __future__ import annotations

from exporter.credentials.keys import (
    DEFAULT_DURATION_SECONDS,
    DEFAULT_METADATA_URL,
    DEFAULT_SESSION_NAME,
    INTERNAL_BASE_URL,
    MAX_DURATION_SECONDS,
    MIN_DURATION_SECONDS,
    AssumeRole,
    InstanceRole,
    Key,
    SourceError,
    parse_expiry,
    valid_role_name,
)
from exporter.credentials.metadata import MAX_METADATA_BYTES, fetch_instance_key
from exporter.credentials.profile import (
    MAX_SHARED_FILE_BYTES,
    Profile,
    ProfileError,
    load_profile,
    shared_files,
)

__all__ = [
    "DEFAULT_DURATION_SECONDS",
    "DEFAULT_METADATA_URL",
    "DEFAULT_SESSION_NAME",
    "INTERNAL_BASE_URL",
    "MAX_DURATION_SECONDS",
    "MAX_METADATA_BYTES",
    "MAX_SHARED_FILE_BYTES",
    "MIN_DURATION_SECONDS",
    "AssumeRole",
    "InstanceRole",
    "Key",
    "Profile",
    "ProfileError",
    "SourceError",
    "fetch_instance_key",
    "load_profile",
    "parse_expiry",
    "shared_files",
    "valid_role_name",
]
