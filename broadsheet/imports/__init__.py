"""Readers brought over from another sender's CSV export, streamed in batches.

`reading.py` opens the file (UTF-8, with or without a BOM; comma, semicolon or tab), `formats.py`
maps its columns to ours (Mailchimp, Substack, Ghost, beehiiv, Buttondown, listmonk or plain),
`rows.py` checks each row, `writing.py` writes a batch in a few multi-row statements, and
`importing.py` runs them over the whole file (`import_subscribers`).
"""

from broadsheet.imports.importing import Summary, import_subscribers

__all__ = ["Summary", "import_subscribers"]
