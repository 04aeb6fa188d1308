"""Keyset paging: a page ends at a row's id, the next starts after it. Never OFFSET, which reads
and discards every row before the page (slow at a million), and never a count per page."""

from __future__ import annotations

from broadsheet.errors import ValidationError
from broadsheet.ids import MAX_ID

MAX_PAGE = 200


def page_marker(value: object, field: str = "before") -> int:
    """The id a page continues from, from a query string or JSON; ValidationError on `field`."""
    if isinstance(value, bool):
        value = None
    try:
        marker = _whole_number(value)
    except (TypeError, ValueError):
        raise ValidationError(
            {field: "must be the id of the last item of the page before"}
        ) from None
    if not 1 <= marker <= MAX_ID:
        raise ValidationError({field: "must be a positive id"})
    return marker


def page_size(value: object, default: int = 50, field: str = "limit") -> int:
    """How many items a page holds: 1 to MAX_PAGE; ValidationError on `field`."""
    if value in (None, ""):
        return default
    try:
        size = _whole_number(value)
    except (TypeError, ValueError):
        raise ValidationError({field: f"must be a whole number from 1 to {MAX_PAGE}"}) from None
    if not 1 <= size <= MAX_PAGE:
        raise ValidationError({field: f"must be a whole number from 1 to {MAX_PAGE}"})
    return size


def _whole_number(value: object) -> int:
    """`int(value)` for what a query string or a JSON body holds; TypeError for the rest."""
    if isinstance(value, str | int | float):
        return int(value)
    raise TypeError(f"not a number: {value!r}")
