"""A real SMTP server on loopback (aiosmtpd) that records what it accepts, for the tests."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import cast

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

# Decide a reply per recipient: None accepts, a string such as "550 5.1.1 no such user" refuses.
RcptRule = Callable[[str], str | None]


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    at: float  # time.monotonic() when the relay accepted it
    peer: tuple[str, int] = ("", 0)  # the client's address and port: one per connection

    def parsed(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)


class RecordingHandler:
    def __init__(self) -> None:
        self.messages: list[Received] = []
        self.rcpt_rule: RcptRule | None = None
        # Seconds to stall before answering, per recipient: at RCPT (nothing delivered yet) or
        # after DATA (the message is kept, but the answer comes too late for the client).
        self.stall_rcpt: Callable[[str], float] | None = None
        self.stall_data: Callable[[str], float] | None = None
        self.pipelining = True  # offer PIPELINING (RFC 2920), as Postfix and most relays do
        self.smtputf8 = True  # offer SMTPUTF8 (RFC 6531), as aiosmtpd does
        self._cond = threading.Condition()

    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        session.host_name = hostname
        if self.pipelining:
            responses.insert(-1, "250-PIPELINING")
        if not self.smtputf8:
            responses = [line for line in responses if line != "250-SMTPUTF8"]
        return responses

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.stall_rcpt and (delay := self.stall_rcpt(address)):
            await asyncio.sleep(delay)
        reply = self.rcpt_rule(address) if self.rcpt_rule else None
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self._cond:
            self.messages.append(
                Received(
                    envelope.mail_from or "",
                    tuple(envelope.rcpt_tos),
                    envelope.original_content or b"",
                    time.monotonic(),
                    # aiosmtpd types it as a str; it is the transport's (host, port)
                    cast(tuple[str, int], tuple(session.peer or ())),
                )
            )
            self._cond.notify_all()
        if self.stall_data and (delay := self.stall_data(envelope.rcpt_tos[0])):
            await asyncio.sleep(delay)
        return "250 2.0.0 queued"

    def reset(self) -> None:
        with self._cond:
            self.messages.clear()
            self.rcpt_rule = self.stall_rcpt = self.stall_data = None
            self.pipelining = self.smtputf8 = True

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Received]:
        """Block until at least `count` messages arrived; fail the test after `timeout`."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} messages, got {len(self.messages)}")
                self._cond.wait(left)
            return list(self.messages)

    def to(self, address: str) -> list[Received]:
        with self._cond:
            return [m for m in self.messages if address in m.rcpt_tos]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class SmtpServer:
    def __init__(self) -> None:
        self.handler = RecordingHandler()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=free_port())

    def start(self) -> None:
        self.controller.start()

    @property
    def port(self) -> int:
        return self.controller.port

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.controller.stop()

    def close(self) -> None:
        """Close the event loop the controller made when it was built, started or not."""
        if not self.controller.loop.is_closed():
            self.controller.loop.close()
