"""A page read in columns at once is the page read entry by entry, whenever it is taken."""

from __future__ import annotations

from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from exporter.ucloud._page import _entry_by_entry, _well_formed, parse_page
from tests.support.inprocess import FUZZ, json_values

good = st.fixed_dictionaries(
    {
        "BucketName": st.text(min_size=1, max_size=8),
        "BucketType": st.sampled_from(["Private", "Public", "private", "public"]),
        "ImageCount": st.integers(0, 2**70),
        "CreateTime": st.integers(0, 2**40),
    }
)
# One field of a good entry replaced by anything, or taken out.
spoiled = st.tuples(
    good,
    st.sampled_from(["BucketName", "BucketType", "ImageCount", "CreateTime"]),
    st.none() | json_values | st.just("drop"),
).map(lambda t: {k: v for k, v in {**t[0], t[1]: t[2]}.items() if v != "drop"})
ENTRY = {"BucketName": "a", "BucketType": "Private", "ImageCount": 1, "CreateTime": 2}
entries = st.lists(good, max_size=6) | st.lists(good | spoiled | json_values, max_size=6)


def columns(page: Any) -> tuple[Any, ...]:
    return page.names, page.types, page.images, page.created, page.size, page.total


@FUZZ
@given(items=entries, total=st.none() | st.integers(0, 10))
@example(items=[{**ENTRY, "BucketName": "a\ud800"}], total=1)
@example(items=[{**ENTRY, "ImageCount": True}], total=None)
@example(items=[{**ENTRY, "BucketType": ["x"]}], total=None)
def test_columns_at_once_equal_entry_by_entry(items: list[Any], total: int | None) -> None:
    slow = _entry_by_entry(items, total)
    fast = _well_formed(items, total)
    if fast is not None:  # taken only when nothing is odd
        assert not any(slow.bad or ()) and fast.bad is None
        assert columns(fast) == columns(slow)
    page = parse_page({"ImageSet": items, "TotalCount": total})
    assert columns(page) == columns(slow)
    assert (page.bad is None and not any(slow.bad or ())) or page.bad == slow.bad


@FUZZ
@given(items=st.lists(good, min_size=1, max_size=6))
def test_a_well_formed_page_is_read_at_once(items: list[Any]) -> None:
    page = _well_formed(items, None)
    assert page is not None and page.bad is None and len(page.names) == len(items)


def test_an_upper_case_type_is_read_entry_by_entry_and_is_not_malformed() -> None:
    items = [{"BucketName": "a", "BucketType": "PRIVATE", "ImageCount": 1, "CreateTime": 2}]
    assert _well_formed(items, None) is None
    page = parse_page({"ImageSet": items})
    assert page.types == ["private"] and page.bad == [()]
