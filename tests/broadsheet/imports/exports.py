"""Exports shaped like the senders' own, written for the import tests."""

from __future__ import annotations

import csv
import io

MAILCHIMP = ["Email Address", "First Name", "Last Name", "MEMBER_RATING", "OPTIN_TIME",
             "UNSUB_TIME", "CLEAN_TIME", "TAGS"]  # fmt: skip


def csv_bytes(lines: list[list[str]], delimiter: str = ",", bom: bool = False) -> io.BytesIO:
    """Lines of cells as a CSV file's bytes, UTF-8, quoted as spreadsheets quote them."""
    text = io.StringIO()
    csv.writer(text, delimiter=delimiter).writerows(lines)
    return io.BytesIO(("\ufeff" if bom else "").encode() + text.getvalue().encode("utf-8"))


def editors_trial() -> tuple[io.BytesIO, list[int]]:
    """The editor's trial: a Mailchimp export of 1,000 good readers, 50 malformed rows, 20
    duplicates (of good readers, in another case) and 30 who unsubscribed there; the lines of
    the malformed rows."""
    lines = [MAILCHIMP]
    bad_lines: list[int] = []
    for n in range(1000):
        lines.append([f"reader{n}@example.org", "Reader", str(n), "2", "2024-01-02 10:00:00",
                      "", "", '"weekly", news'])  # fmt: skip
        if n % 20 == 0:  # 50 malformed rows, spread through the file
            kind = n // 20 % 5
            email = ["no-at-sign.example.org", "two@@example.org", "", "a b@example.org",
                     "ann@example..org"][kind]  # fmt: skip
            lines.append([email, "Broken", str(n), "1", "", "", "", ""])
            bad_lines.append(len(lines))
        if n % 50 == 0:  # 20 duplicates
            lines.append([f"Reader{n}@EXAMPLE.org", "Twice", str(n), "1", "", "", "", ""])
    for n in range(30):
        lines.append([f"gone{n}@example.org", "Gone", str(n), "1", "", "2024-03-01 09:00:00",
                      "", ""])  # fmt: skip
    return csv_bytes(lines), bad_lines
