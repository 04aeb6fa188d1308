"""Reading an export: UTF-8 text (a BOM is dropped), its delimiter told from the header line,
rows handed out one at a time with the line they start on, never the whole file at once."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

from broadsheet.errors import ValidationError

DELIMITERS = (",", ";", "\t")
# At most this much of the start is checked before reading (a buffered file holds 8 KiB).
PEEK_BYTES = 64 * 1024
FIELD = "file"
# The two columns a rejects file adds to the export's own; an import again ignores them.
REJECT_COLUMNS = ["import_line", "import_reason"]


@dataclass(frozen=True)
class Table:
    """An open export: its header, its delimiter, and its rows as (line number, fields)."""

    header: list[str]
    delimiter: str
    rows: Iterator[tuple[int, list[str]]]


def open_table(raw: io.BufferedReader, name: str) -> Table:
    """The export in `raw` as a Table; ValidationError on `file` for text that is not UTF-8
    (at the line it is met, also when that is past the start), an empty file or a file
    without a header."""
    _check_utf8(raw.peek(PEEK_BYTES)[:PEEK_BYTES], name)
    text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="strict", newline="")
    try:
        first = text.readline()
    except UnicodeDecodeError as exc:
        raise _not_utf8(name, "on line 1", exc) from exc
    if not first.strip():
        raise ValidationError(
            {FIELD: f"{name} is empty: a header line naming the columns is needed"}
        )
    delimiter = max(DELIMITERS, key=first.count)
    header = next(csv.reader([first], delimiter=delimiter))
    return Table([h.strip() for h in header], delimiter, _rows(text, name, delimiter))


def _rows(text: io.TextIOWrapper, name: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(text, delimiter=delimiter, strict=False)
    line = 2  # the header was line 1
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except UnicodeDecodeError as exc:  # text is decoded a block ahead of the rows
            raise _not_utf8(name, f"after line {reader.line_num + 1}", exc) from exc
        except csv.Error as exc:
            raise ValidationError({FIELD: f"{name}, line {line}: {exc}"}) from exc
        if any(field.strip() for field in fields):
            yield line, fields
        line = reader.line_num + 2


def _check_utf8(head: bytes, name: str) -> None:
    """The start of the file (what its buffer holds) decodes as UTF-8; a character cut at the
    end of `head` is left to the reading that follows."""
    try:
        codecs.getincrementaldecoder("utf-8")("strict").decode(head, final=False)
    except UnicodeDecodeError as exc:
        line = head[: exc.start].count(b"\n") + 1
        raise _not_utf8(name, f"on line {line}", exc) from exc


def _not_utf8(name: str, where: str, exc: UnicodeDecodeError) -> ValidationError:
    return ValidationError(
        {
            FIELD: f"{name} is not UTF-8 text (byte {exc.object[exc.start]:#04x} {where}); "
            "save it as UTF-8 (CSV UTF-8 in a spreadsheet) and import it again"
        }
    )
