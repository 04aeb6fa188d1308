"""Exports are UTF-8 (with or without a BOM), with commas, semicolons or tabs; anything else
is refused clearly, also when the bad byte comes late in the file."""

from __future__ import annotations

import io

import pytest

from broadsheet.errors import ValidationError
from broadsheet.imports.reading import PEEK_BYTES, open_table
from tests.broadsheet.imports.exports import csv_bytes


def read(raw: io.BytesIO) -> tuple[list[str], str, list[tuple[int, list[str]]]]:
    table = open_table(io.BufferedReader(raw), "export.csv")
    return table.header, table.delimiter, list(table.rows)


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
@pytest.mark.parametrize("bom", [False, True])
def test_delimiter_told_from_the_header_and_a_bom_dropped(delimiter, bom):
    lines = [["email", "name"], ["zoë@example.org", 'Zoë; the reader, "Z"']]
    header, found, rows = read(csv_bytes(lines, delimiter, bom))
    assert (header, found) == (["email", "name"], delimiter)
    assert rows == [(2, ["zoë@example.org", 'Zoë; the reader, "Z"'])]


def test_rows_keep_their_line_numbers_across_blank_lines_and_quoted_line_breaks():
    raw = io.BytesIO(b'email,name\n\na@example.org,"two\nlines"\nb@example.org,B\n')
    _, _, rows = read(raw)
    assert rows == [(3, ["a@example.org", "two\nlines"]), (5, ["b@example.org", "B"])]


def test_a_latin1_file_is_refused_naming_the_line():
    raw = io.BytesIO("email,name\nzoe@example.org,Zoë\n".encode("latin-1"))
    with pytest.raises(ValidationError) as caught:
        read(raw)
    message = caught.value.fields["file"]
    assert "export.csv is not UTF-8 text (byte 0xeb on line 2)" in message
    assert "save it as UTF-8" in message


def test_a_latin1_byte_late_in_the_file_is_refused_when_met():
    good = b"".join(b"r%d@example.org,R\n" % n for n in range(PEEK_BYTES // 10))
    raw = io.BytesIO(b"email,name\n" + good + "late@example.org,Zoë\n".encode("latin-1"))
    with pytest.raises(ValidationError) as caught:
        read(raw)
    assert "is not UTF-8 text (byte 0xeb after line" in caught.value.fields["file"]


def test_an_empty_file_is_refused():
    with pytest.raises(ValidationError) as caught:
        read(io.BytesIO(b""))
    assert "is empty" in caught.value.fields["file"]
