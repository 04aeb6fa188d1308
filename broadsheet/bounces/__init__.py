"""Bounces and complaints after the fact: reading the reports that come back (RFC 3464 delivery
status notifications, RFC 5965 feedback reports, Amazon SES notifications), tracing each to the
campaign and reader it is about, and suppressing readers whose address is dead or who complained.
Reports come from the bounce mailbox (`mailbox`: IMAP, POP3 or Maildir) or from SES through
SNS (`ses`, its messages verified by `sns`); `dsn`, `arf` and `ses` read each format into one
`report.Report`.

`parse.read_report` reads one mail, `matching.match_report` traces it through our Message-ID,
a VERP return path or our X-Broadsheet-* headers, and `intake.process_report` records it once
and applies it (see `broadsheet.services.suppression`).
"""
