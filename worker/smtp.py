"""Opening an SMTP connection to the relay named by `SMTP_URL`."""

from __future__ import annotations

import smtplib
import ssl

from broadsheet.settings import SmtpTarget

TIMEOUT_SECONDS = 30


def connect(target: SmtpTarget, timeout: float = TIMEOUT_SECONDS) -> smtplib.SMTP:
    """A connected, greeted (and, as configured, encrypted and logged-in) SMTP session."""
    if target.implicit_tls:
        conn: smtplib.SMTP = smtplib.SMTP_SSL(
            target.host, target.port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        conn = smtplib.SMTP(target.host, target.port, timeout=timeout)
    try:
        conn.ehlo()
        if target.starttls:
            conn.starttls(context=ssl.create_default_context())
            conn.ehlo()
        if target.username:
            conn.login(target.username, target.password or "")
    except BaseException:
        conn.close()
        raise
    return conn


def close(conn: smtplib.SMTP) -> None:
    """Say QUIT politely; a relay that already hung up is not an error here."""
    try:
        conn.quit()
    except (smtplib.SMTPException, OSError):
        conn.close()
