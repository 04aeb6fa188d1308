"""One of a fixed set of values (a role, a status), read from what a form, a query string or
JSON gave."""

from __future__ import annotations

from enum import Enum
from typing import TypeVar

from broadsheet.errors import ValidationError

E = TypeVar("E", bound=Enum)


def choice(kind: type[E], value: object, field: str) -> E:
    """The member of `kind` whose value is `value`; ValidationError on `field` naming the
    values allowed otherwise."""
    try:
        return kind(value)
    except ValueError:
        names = ", ".join(str(member.value) for member in kind)
        raise ValidationError({field: f"must be one of {names}"}) from None
