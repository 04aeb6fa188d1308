"""Text no field may hold: a NUL character. PostgreSQL refuses to store one (SQLite keeps it,
silently), and no address, name, search or article needs it. A query parameter or form field
holding one is answered 400 naming it, before any query; a JSON body's fields are checked
where the API reads the body (web/api/routes.py). The reader pages' signup form is left to its
own checks, which answer next to the field (an address with one is refused, a name cleaned)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flask import Flask, abort, request

NUL = "\x00"


def init_app(app: Flask) -> None:
    app.before_request(_refuse_nul)


def _refuse_nul() -> None:
    checked = [("query parameter", request.args)]
    if request.path.startswith("/admin/"):
        checked.append(("form field", request.form))
    for where, values in checked:
        for name in fields_with_nul(values.to_dict(flat=False)):
            abort(400, description=f"the {where} {name!r} holds a NUL character")


def fields_with_nul(data: Mapping[str, Any]) -> list[str]:
    """The names of `data`'s fields whose value holds a NUL character anywhere (in a list or
    an object within it too), or whose name does."""
    return [str(name) for name, value in data.items() if NUL in str(name) or _holds(value)]


def _holds(value: object) -> bool:
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, Mapping):
        return any(NUL in str(k) or _holds(v) for k, v in value.items())
    if isinstance(value, Iterable) and not isinstance(value, bytes | bytearray):
        return any(_holds(item) for item in value)
    return False
