"""What an export's other columns become: a tags column (Mailchimp's `TAGS`, Ghost's `labels`,
`tags` elsewhere and in our own export) gives the reader tags; an `attributes` column holding
a JSON object (listmonk's and ours) gives attributes as typed; every other column becomes an
attribute named after its header (lower-case, `_` for the rest: `First Purchase` is
`first_purchase`), its cells kept as text, an empty cell left out.

A column is ignored, and the summary says why, when its header has no letter or digit to
name an attribute, when an earlier column already gives that name, or when it is a column of
ours that an import has no use for (a rejects file's line and reason, an export's created_at).
"""

from __future__ import annotations

import csv
import functools
import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from broadsheet.errors import ValidationError
from broadsheet.services.profiles import MAX_ATTRIBUTES_BYTES, check_attributes, check_tags

TAG_COLUMNS = ("tags", "labels")
JSON_COLUMN = "attributes"
# Ours, and of no use to an import: the two columns a rejects file adds, an export's date.
NOT_WANTED = {
    "import_line": "the line in the file a rejects file came from",
    "import_reason": "why the row was rejected",
    "created_at": "when the reader came: readers imported come now",
}
MAX_NAME = 64


@dataclass(frozen=True)
class Extras:
    """The columns besides the address, names and status: where tags and JSON attributes are,
    which columns become which attribute, and which are ignored (with why)."""

    tags: int | None = None
    json: int | None = None
    attributes: tuple[tuple[int, str], ...] = ()
    used: list[tuple[str, str]] = field(default_factory=list)
    ignored: list[tuple[str, str]] = field(default_factory=list)


def map_extras(header: Sequence[str], taken: set[int]) -> Extras:
    """The Extras of the columns not in `taken` (those already mapped), in the file's order."""
    keys = [h.strip().lower() for h in header]
    found = [keys.index(k) for k in TAG_COLUMNS if k in keys]
    tags = next((i for i in found if i not in taken), None)
    as_json = keys.index(JSON_COLUMN) if JSON_COLUMN in keys else None
    if as_json in taken:
        as_json = None
    used: list[tuple[str, str]] = []
    ignored: list[tuple[str, str]] = []
    attributes: list[tuple[int, str]] = []
    named: dict[str, str] = {}
    for i, column in enumerate(header):
        if i in taken:
            continue
        if i == tags:
            used.append((column, "tags"))
        elif i == as_json:
            used.append((column, "attributes (a JSON object)"))
        elif keys[i] in NOT_WANTED:
            ignored.append((column, NOT_WANTED[keys[i]]))
        elif not (name := attribute_name(column)):
            ignored.append((column, "no letter or digit to name an attribute after"))
        elif name in named:
            ignored.append((column, f"column {named[name]} already gives attribute {name}"))
        else:
            named[name] = column
            attributes.append((i, name))
            used.append((column, f"attribute {name}"))
    return Extras(tags, as_json, tuple(attributes), used, ignored)


def attribute_name(header: str) -> str:
    """A header as an attribute name: accents dropped, lower-case, a run of anything but
    letters and digits one `_`; `_` first when it starts with a digit; 64 characters at most.
    Empty when nothing is left."""
    plain = unicodedata.normalize("NFKD", header).encode("ascii", "ignore").decode()
    name = re.sub(r"[^a-z0-9]+", "_", plain.lower()).strip("_")
    if name[:1].isdigit():
        name = f"_{name}"
    return name[:MAX_NAME].rstrip("_")


def row_tags(extras: Extras, row: Sequence[str]) -> tuple[str, ...]:
    """The row's tags: its tags cell read as a comma-separated list, quoted or not
    (`"weekly", news`); ValidationError on `tags` for one that is not a tag."""
    if extras.tags is None or extras.tags >= len(row) or not row[extras.tags].strip():
        return ()
    return _tags(row[extras.tags])


@functools.lru_cache(maxsize=1024)
def _tags(cell: str) -> tuple[str, ...]:
    """A tags cell read once: an export's rows mostly share a few."""
    cells = next(csv.reader([cell], skipinitialspace=True), [])
    return tuple(check_tags([c for c in cells if c.strip()]))


def row_attributes(extras: Extras, row: Sequence[str]) -> str | None:
    """The row's attributes as JSON text (None: none): the JSON column's object, then each
    attribute column's non-empty cell; ValidationError on `attributes` when the JSON is not an
    object of attributes or the whole is over the size readers' attributes may have."""
    found: dict[str, Any] = {}
    if extras.json is not None and extras.json < len(row) and row[extras.json].strip():
        try:
            found = json.loads(row[extras.json])
        except json.JSONDecodeError as exc:
            raise ValidationError({"attributes": f"is not JSON ({exc.msg})"}) from exc
        found = check_attributes(found)
    width = len(row)
    for i, name in extras.attributes:
        if i < width:
            cell = row[i].strip()
            if cell:
                found[name] = cell
    if not found:
        return None
    text = json.dumps(found)
    if len(text) > MAX_ATTRIBUTES_BYTES:
        too_big = f"must be at most {MAX_ATTRIBUTES_BYTES} bytes as JSON"
        raise ValidationError({"attributes": too_big})
    return text
