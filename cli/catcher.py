"""A local SMTP catcher: accepts every message on loopback and files it in a Maildir."""

from __future__ import annotations

import logging
import mailbox
import signal
import threading
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

log = logging.getLogger(__name__)


class MaildirHandler:
    """aiosmtpd handler: one Maildir message per recipient, with Return-Path and Delivered-To."""

    def __init__(self, path: Path) -> None:
        self.maildir = mailbox.Maildir(path, create=True)
        self._lock = threading.Lock()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        with self._lock:
            for rcpt in envelope.rcpt_tos:
                trace = f"Return-Path: <{envelope.mail_from}>\r\nDelivered-To: {rcpt}\r\n"
                self.maildir.add(trace.encode() + content)
        return "250 2.0.0 Message accepted for delivery"


def serve(maildir: Path, host: str = "127.0.0.1", port: int = 8025) -> None:
    """Run the catcher until SIGINT or SIGTERM."""
    controller = Controller(MaildirHandler(maildir), hostname=host, port=port)
    controller.start()
    print(f"SMTP catcher on {host}:{port}, writing to {maildir}", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    controller.stop()
