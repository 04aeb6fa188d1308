"""Row ids as they arrive from outside (URLs, forms, JSON): every id column is an INTEGER,
which PostgreSQL keeps in 32 bits, so a larger number names no row. Comparing one with an id
column is an error there (and past 64 bits on SQLite too), not a row that is not found."""

from __future__ import annotations

MAX_ID = 2**31 - 1  # the largest INTEGER on PostgreSQL


def as_id(value: object) -> int | None:
    """The id `value` names (an int, or a string of ASCII digits), if a row could have it."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    return value if 1 <= value <= MAX_ID else None
