"""A catalogue of ways the UCloud API can misbehave for one target, and what the exporter reports.

Each :class:`FaultCase` builds simulator :class:`~exporter.simulator.Fault` rules for one
account (public key) and region. The fault tests inject each case and check the exporter's
answer; the soak injects random cases once each.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from exporter import metrics
from exporter.simulator import FIXED_EPOCH, Bucket, Fault, Quirks, Simulator

Body = dict[str, Any]
BIG_BODY_BYTES = 50 * 1024 * 1024  # beyond the client's default 8 MiB cap
IMAGES, CREATED = metrics.IMAGES.name, metrics.CREATED.name


@dataclass(frozen=True)
class Target:
    """Where to inject: the simulator, one account's public key and region, the timeout."""

    sim: Simulator
    public_key: str
    region: str
    timeout_seconds: float

    def bucket_name(self, index: int) -> str:
        """Return the name of the index-th bucket of this target in listing order."""
        return self.sim.fleet.buckets(self.public_key, self.region)[index].name


@dataclass(frozen=True)
class FaultCase:
    """One fault class: how to produce it and what the exporter should report.

    ``reason`` is the ``error_info`` reason of the failing target, or None when the target
    stays up (a bad field costs only that field's series; pages that shift are absorbed; odd
    pages are reported as inconsistencies). ``request_errors`` is how many failed API requests
    a listing costs with ``retries`` retries.
    """

    name: str
    build: Callable[[Target], list[Fault]]
    reason: str | None
    retried: bool = False
    request_errors: bool = True
    invalid: str | None = None  # the `field` counted once per listing in invalid_entries
    lacks: tuple[str, ...] = ()  # per-bucket families the spoiled (second) bucket has not
    unknown_type: bool = False  # the spoiled bucket counts under type="unknown"
    odd: str | None = None  # the paging inconsistency counted once per listing
    reported: int | None = None  # the listing reports only the first N buckets
    exact: bool = True  # False: the target's listing may miss buckets (pages shifted)

    def faults(self, target: Target, *, once: bool = False) -> list[Fault]:
        """Return the rules in order; ``once`` makes each apply to one request only."""
        rules = self.build(target)
        if once:
            rules = [dataclasses.replace(f, times=1) if f.times is None else f for f in rules]
        return rules

    def inject(self, target: Target, *, once: bool = False) -> None:
        """Add this case's rules to the simulator for ``target``."""
        for fault in self.faults(target, once=once):
            target.sim.add_fault(fault, account=target.public_key, region=target.region)

    def errors(self, retries: int) -> int:
        """Return how many failed requests one listing records under ``reason``."""
        if self.reason is None or not self.request_errors:
            return 0
        return retries + 1 if self.retried else 1


def malformed_entry() -> Fault:
    """A fault that appends an entry whose ImageCount is malformed ("many") to every page."""

    def add(body: Body) -> Body:
        broken = {
            "BucketName": "broken",
            "BucketType": "Private",
            "ImageCount": "many",
            "CreateTime": 1,
        }
        return {**body, "ImageSet": [*body["ImageSet"], broken]}

    return Fault(mutate=add)


def _always(fault: Fault) -> Callable[[Target], list[Fault]]:
    return lambda _target: [fault]


def _mutate(change: Callable[[Body], None]) -> Callable[[Target], list[Fault]]:
    """Rewrite every successful answer of the target with ``change``."""

    def edit(body: Body) -> Body:
        change(body)
        return body

    return _always(Fault(mutate=edit))


def _on_page(change: Callable[[list[Any], int], None]) -> Callable[[Target], list[Fault]]:
    """Apply ``change(items, i)`` to the page holding the target's second bucket (index i)."""

    def build(target: Target) -> list[Fault]:
        name = target.bucket_name(1)

        def edit(body: Body) -> Body:
            items = body.get("ImageSet") or []
            for i, item in enumerate(items):
                if item.get("BucketName") == name:
                    change(items, i)
                    break
            return body

        return [Fault(mutate=edit)]

    return build


def _entry(field: str, value: Any) -> Callable[[Target], list[Fault]]:
    """Spoil one field of the target's second bucket (``...`` deletes the field)."""

    def change(items: list[Any], i: int) -> None:
        if value is ...:
            del items[i][field]
        else:
            items[i][field] = value

    return _on_page(change)


def _read_timeout(target: Target) -> list[Fault]:
    return [Fault(delay=target.timeout_seconds + 0.5)]


def _empty_later_pages(target: Target) -> list[Fault]:
    """First page as usual, every later page empty while TotalCount still says more."""

    def empty(body: Body) -> Body:
        body["ImageSet"] = []
        return body

    return [Fault(times=1), Fault(mutate=empty)]


def _shift(add: bool) -> Callable[[Target], list[Fault]]:
    """Add (or remove) a bucket at the front right after the first page is answered."""

    def build(target: Target) -> list[Fault]:
        def edit(body: Body) -> Body:
            fleet, key, region = target.sim.fleet, target.public_key, target.region
            buckets = fleet.buckets(key, region)
            if add:
                fleet.add_bucket(key, region, Bucket("shifted-in", "Private", 1, FIXED_EPOCH))
            elif buckets:
                fleet.remove_bucket(key, region, buckets[0].name)
            return body

        return [Fault(mutate=edit, times=1)]

    return build


def _total_ahead(body: Body) -> None:
    body["TotalCount"] = int(body["TotalCount"]) + 5


def _big_body(_target: Target) -> list[Fault]:
    return [Fault(body=b'{"RetCode": 0, "ImageSet": [' + b" " * BIG_BODY_BYTES + b"]}")]


def _retcode(code: int) -> FaultCase:
    transient = code in (150, 153) or code >= 2000
    return FaultCase(
        f"retcode-{code}",
        _always(Fault(retcode=code, message=f"code {code}")),
        f"retcode_{code}",
        retried=transient,
    )


def _http(status: int) -> FaultCase:
    return FaultCase(
        f"http-{status}",
        _always(Fault(http_status=status)),
        f"http_{status}",
        retried=status == 429 or status >= 500,
    )


def _decode(name: str, build: Callable[[Target], list[Fault]]) -> FaultCase:
    return FaultCase(name, build, "decode")


def _invalid(name: str, field: str, value: Any, lacks: tuple[str, ...] = ()) -> FaultCase:
    return FaultCase(
        name,
        _entry(field, value),
        None,
        invalid=field,
        lacks=lacks,
        unknown_type=field == "BucketType",
    )


def _quirky(name: str, odd: str, reported: int | None = None, **quirks: Any) -> FaultCase:
    return FaultCase(
        name, _always(Fault(quirks=Quirks(**quirks))), None, odd=odd, reported=reported
    )


CASES: tuple[FaultCase, ...] = (
    FaultCase(
        "connection-dropped", _always(Fault(close_connection=True)), "transport", retried=True
    ),
    FaultCase("read-timeout", _read_timeout, "timeout", retried=True),
    *(_http(status) for status in (429, 500, 502, 503, 404)),
    _decode("body-not-json", _always(Fault(body=b"<html><body>502 Bad Gateway</body></html>"))),
    _decode("body-truncated", _always(Fault(body=b'{"RetCode": 0, "TotalCount": 7, "ImageS'))),
    _decode("body-json-array", _always(Fault(body=b"[1, 2, 3]"))),
    _decode("body-too-big", _big_body),
    _decode("retcode-missing", _mutate(lambda b: b.pop("RetCode"))),
    _decode("imageset-object", _mutate(lambda b: b.update(ImageSet={"BucketName": "x"}))),
    _decode("imageset-string", _mutate(lambda b: b.update(ImageSet="[]"))),
    _decode("totalcount-string", _mutate(lambda b: b.update(TotalCount="7"))),
    _decode("totalcount-negative", _mutate(lambda b: b.update(TotalCount=-1))),
    _invalid("imagecount-string", "ImageCount", "12", (IMAGES,)),
    _invalid("imagecount-negative", "ImageCount", -3, (IMAGES,)),
    _invalid("imagecount-missing", "ImageCount", ..., (IMAGES,)),
    _invalid("imagecount-float", "ImageCount", 1.5, (IMAGES,)),
    _invalid("bucketname-missing", "BucketName", ..., (IMAGES, CREATED)),
    _invalid("bucketname-empty", "BucketName", "", (IMAGES, CREATED)),
    _invalid("createtime-missing", "CreateTime", ..., (CREATED,)),
    _invalid("createtime-bool", "CreateTime", True, (CREATED,)),
    _invalid("buckettype-null", "BucketType", None),
    _invalid("buckettype-unknown", "BucketType", "Shared"),
    FaultCase(
        "entry-not-object",
        _on_page(lambda items, i: items.insert(i, 42)),
        None,
        invalid="entry",
        odd="oversized_page",
    ),
    *(_retcode(code) for code in (150, 153, 171, 172, 292, 2000, 5001)),
    FaultCase("totalcount-ahead", _mutate(_total_ahead), None, odd="total_ahead"),
    FaultCase("empty-page-total-ahead", _empty_later_pages, None, odd="total_ahead", reported=2),
    _quirky("totalcount-100000", "total_ahead", total_count=100_000),
    _quirky("offset-ignored", "repeated_page", reported=2, ignore_offset=True),
    _quirky("limit-ignored", "oversized_page", ignore_limit=True),
    _quirky("offset-and-limit-ignored", "oversized_page", ignore_offset=True, ignore_limit=True),
    FaultCase("bucket-added-mid-listing", _shift(add=True), None, exact=False),
    FaultCase(
        "bucket-removed-mid-listing", _shift(add=False), None, exact=False, odd="total_ahead"
    ),
)
