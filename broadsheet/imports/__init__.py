"""Readers brought over from another sender's CSV export, streamed in batches.

`reading.py` opens the file (UTF-8, with or without a BOM; comma, semicolon or tab), `formats.py`
maps its columns to ours (Mailchimp, Substack, Ghost, beehiiv, Buttondown, listmonk or plain)
and `extras.py` the others to tags and attributes, `rows.py` checks each row, `writing.py`
writes a batch in a few multi-row statements (PostgreSQL's one statement in `arrays.py`,
readers already here brought up to date in `updating.py`), and `importing.py` runs them over
the whole file (`import_subscribers`), the next rows read while a batch is written (`ahead.py`).
"""

from broadsheet.imports.importing import Summary, import_subscribers

__all__ = ["Summary", "import_subscribers"]
