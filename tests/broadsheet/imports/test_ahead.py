"""Rows read ahead on another thread reach the importer as they were made, in order: an item
that is itself an exception or None is handed on, and only a failure of the reading is raised."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from broadsheet.imports.ahead import ahead


def test_every_item_is_handed_on_in_order_whatever_it_is():
    items: list[object] = [1, ValueError("a value, not a failure"), None, "last"]
    assert list(ahead(iter(items))) == items


def test_a_failure_of_the_reading_is_raised_after_the_items_made_before_it():
    def rows() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("line 3 is not UTF-8")

    got = []
    with pytest.raises(ValueError, match="line 3"):
        for item in ahead(rows()):
            got.append(item)
    assert got == [1, 2]
