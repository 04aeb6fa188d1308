"""Audience rules on readers' attributes (the JSON object `subscribers.attributes`):

- `attributes`: {"city": "Lyon", "plan": "pro", "phone": null}: every listed attribute has that
  value, compared as text: a string as it is, a number as JSON writes it (42 and "42" are
  equal; 42.0 is not 42), true and false as those words ("true" and true are equal). Text is
  compared exactly (Lyon is not lyon). `null` means the reader has no such attribute (absent
  or null).
- `has_attributes`: ["city"]: every listed attribute has a value (present and not null).

Both are SQL on the column as stored (JSON text on SQLite and PostgreSQL alike): PostgreSQL's
`->>`, SQLite's json_type and json_extract, with true and false written as words on both."""

from __future__ import annotations

import json
import math
from typing import Any

from sqlalchemy import ColumnElement, String, and_, true
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal

from broadsheet.errors import ValidationError
from broadsheet.models import Subscriber
from broadsheet.services.profiles import ATTRIBUTE_NAME

ATTRIBUTE_RULES = ("attributes", "has_attributes")
MAX_ATTRIBUTES_IN_RULE = 20
MAX_VALUE_CHARS = 500


def check_attribute_rule(rule: str, value: object, field: str) -> Any:
    """The rule as kept: `attributes` a {name: value} object, `has_attributes` a list of names,
    1 to 20 of them. ValidationError on `field` (a name that is not one), or on
    `field.<name>` (a value that is not a string, a number, true/false or null)."""
    if rule == "has_attributes":
        if not isinstance(value, list) or not all(isinstance(n, str) for n in value):
            raise ValidationError({field: "must be a list of attribute names"})
        names = list(dict.fromkeys(n.strip() for n in value))
        _check_names(names, field)
        return names
    if not isinstance(value, dict):
        raise ValidationError({field: 'must be an object such as {"city": "Lyon"}'})
    _check_names(list(value), field)
    errors: dict[str, str] = {}
    for name, wanted in value.items():
        if isinstance(wanted, str) and len(wanted) > MAX_VALUE_CHARS:
            errors[f"{field}.{name}"] = f"must be at most {MAX_VALUE_CHARS} characters"
        elif not (
            wanted is None
            or isinstance(wanted, str | bool | int)
            or (isinstance(wanted, float) and math.isfinite(wanted))
        ):
            errors[f"{field}.{name}"] = (
                "must be a string, a number, true/false, or null (no such attribute)"
            )
    if errors:
        raise ValidationError(errors)
    return dict(value)


def _check_names(names: list[Any], field: str) -> None:
    if not names:
        raise ValidationError({field: "must name at least one attribute"})
    if len(names) > MAX_ATTRIBUTES_IN_RULE:
        raise ValidationError({field: f"at most {MAX_ATTRIBUTES_IN_RULE} attributes"})
    for name in names:
        if not isinstance(name, str) or not ATTRIBUTE_NAME.match(name):
            raise ValidationError(
                {field: f"{name!r} is not an attribute name: letters, digits and _, 1 to 64"}
            )


def attribute_condition(rule: str, wanted: Any) -> ColumnElement[bool]:
    """The rule's condition on `subscribers` (kept rules: checked by check_attribute_rule)."""
    if rule == "has_attributes":
        return and_(true(), *(AttributeText(name).is_not(None) for name in wanted))
    each = [
        AttributeText(name).is_(None) if value is None else AttributeText(name) == as_text(value)
        for name, value in wanted.items()
    ]
    return and_(true(), *each)


def as_text(value: str | int | float | bool) -> str:
    """A value as the rules compare it: the text of a string, the JSON of anything else."""
    return value if isinstance(value, str) else json.dumps(value)


class AttributeText(ColumnElement[str]):
    """A reader's attribute as text, NULL when absent or null: what `as_text` makes of the
    value, on either database. The name is written into the SQL (it is an identifier, checked
    here), so that each name is a statement of its own in SQLAlchemy's cache."""

    __visit_name__ = "attribute_text"
    _traverse_internals = [("name", InternalTraversal.dp_string)]
    inherit_cache = True
    type = String()

    def __init__(self, name: str) -> None:
        if not ATTRIBUTE_NAME.match(name):
            raise ValueError(f"{name!r} is not an attribute name")
        self.name = name


@compiles(AttributeText)  # PostgreSQL's, and any other's
def _attribute_text(element: AttributeText, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(Subscriber.__table__.c.attributes, **kw)
    return f"({column} ->> '{element.name}')"


@compiles(AttributeText, "sqlite")
def _attribute_text_sqlite(element: AttributeText, compiler: SQLCompiler, **kw: Any) -> str:
    # json_extract gives true and false as 1 and 0: json_type tells them from numbers.
    column = compiler.process(Subscriber.__table__.c.attributes, **kw)
    path = f"'$.{element.name}'"
    return (
        f"(CASE json_type({column}, {path}) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false'"
        f" ELSE CAST(json_extract({column}, {path}) AS TEXT) END)"
    )
