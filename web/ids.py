"""Ids in URLs (`<int:...>` accepts any length of digits): one larger than any row can have
is answered 404 at once, naming what it looked for, before a query the database would refuse
(a 500)."""

from __future__ import annotations

from typing import Any

from flask import Flask, abort

from broadsheet.ids import as_id


def init_app(app: Flask) -> None:
    app.url_value_preprocessor(_possible_ids_only)


def _possible_ids_only(_endpoint: str | None, values: dict[str, Any] | None) -> None:
    for name, value in (values or {}).items():
        if isinstance(value, int) and as_id(value) is None:
            abort(404, description=f"{name.removesuffix('_id')} {value} does not exist")
