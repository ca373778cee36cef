"""The series budget (issue 22): which whole families a page leaves out, and how many series.

A page's families are of two kinds. Counts and health (catalogue ``budget`` ""; families not in
the catalogue, such as ``process_*``) are always served. The per-bucket and per-image families
belong to a group of ``metrics.DROP_ORDER``; when the page would hold more than
``collect.max_series`` series, whole groups are left out in that order until it fits or no
group is left (``collect.per_bucket_series: false`` leaves out every group). The decision is
pure: the caller counts, this module decides, and the caller writes what is kept.

Example::

    >>> cut = plan({"ucloud_image_buckets": 2, "ucloud_image_bucket_images": 9},
    ...            max_series=5, per_bucket_series=True)
    >>> cut.groups, dict(cut.dropped), cut.series
    (('buckets',), {'ucloud_image_bucket_images': 9}, 2)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from exporter.metrics import BY_NAME, CATALOGUE, DROP_ORDER, Family

__all__ = ["Plan", "family_name", "group_of", "plan"]

# prometheus_client names a counter's Metric without ``_total``: look families up by both.
_BY_BASE: dict[str, Family] = {f.base: f for f in CATALOGUE}


def _family(name: str) -> Family | None:
    return BY_NAME.get(name) or _BY_BASE.get(name)


def family_name(name: str) -> str:
    """Return the catalogue's name of a family named ``name`` as exposed or as
    prometheus_client has it (a counter without ``_total``); ``name`` when not catalogued."""
    family = _family(name)
    return name if family is None else family.name


def group_of(name: str) -> str:
    """Return the drop group of family ``name`` (either spelling), "" when never left out."""
    family = _family(name)
    return "" if family is None else family.budget


@dataclass(frozen=True, slots=True)
class Plan:
    """What a page leaves out.

    ``dropped`` has every droppable family that was counted, by catalogue name: the series it
    leaves out (all of the family's, or 0 when it is kept whole). ``groups`` are the groups
    left out, in ``DROP_ORDER``; ``series`` is what the page keeps and ``total`` what it would
    have held; ``reason`` is "" (nothing left out), ``per_bucket_series`` or ``max_series``.
    """

    dropped: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    groups: tuple[str, ...] = ()
    series: int = 0
    total: int = 0
    reason: str = ""

    def leaves_out(self, name: str) -> bool:
        """Return whether family ``name`` (exposed or prometheus_client's spelling) is left out."""
        return group_of(name) in self.groups


def plan(counts: Mapping[str, int], *, max_series: int, per_bucket_series: bool) -> Plan:
    """Return what a page of ``counts`` (series per family name) leaves out.

    With ``per_bucket_series`` false every drop group is left out. Otherwise, while the page
    holds more than ``max_series`` series (exactly ``max_series`` fits), the next group of
    ``DROP_ORDER`` that has series is left out whole. Families of no group are never left out,
    even when they alone exceed ``max_series``.
    """
    by_group: dict[str, int] = dict.fromkeys(DROP_ORDER, 0)
    droppable: dict[str, str] = {}  # family name -> its group
    total = 0
    for name, n in counts.items():
        total += n
        group = group_of(name)
        if group:
            droppable[family_name(name)] = group
            by_group[group] = by_group.get(group, 0) + n
    series = total
    groups: list[str] = []
    reason = ""
    for group in DROP_ORDER:
        if per_bucket_series and series <= max_series:
            break
        if per_bucket_series and not by_group[group]:
            continue  # leaving out nothing would not help
        groups.append(group)
        series -= by_group[group]
        reason = "max_series" if per_bucket_series else "per_bucket_series"
    dropped = {
        name: counts.get(name, 0) + _base_count(counts, name) if group in groups else 0
        for name, group in droppable.items()
    }
    return Plan(MappingProxyType(dropped), tuple(groups), series, total, reason)


def _base_count(counts: Mapping[str, int], name: str) -> int:
    """Return the count of ``name``'s family under prometheus_client's spelling, if different."""
    family = BY_NAME[name]
    return counts.get(family.base, 0) if family.base != name else 0
