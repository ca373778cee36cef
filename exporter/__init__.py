"""Prometheus exporter for UCloud image buckets (``GetImageBucketList``)."""

from __future__ import annotations

__version__ = "0.1.0"
