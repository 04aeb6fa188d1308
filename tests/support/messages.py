"""Comparing messages the way the admin promises: a test send is the previewed message but for
its personal fields and the `[Test]` subject."""

from __future__ import annotations

import email
import email.policy

PERSONAL_HEADERS = ("To", "Date", "Message-ID", "Subject", "X-Broadsheet-Subscriber")


def personal_parts(raw: bytes, reader: str, greeting: str) -> dict[str, str]:
    """The parts of a message that must be the same in a preview and a test send, with the
    personal fields (the reader's address and greeting) replaced by markers; the subject is
    kept apart under "subject"."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    fixed = {name: str(value) for name, value in message.items() if name not in PERSONAL_HEADERS}
    bodies: dict[str, str] = {}
    for kind in ("plain", "html"):
        part = message.get_body(preferencelist=(kind,))
        assert part is not None, f"message has no text/{kind} part"
        bodies[kind] = part.get_content().replace(reader, "READER").replace(greeting, "GREETING")
    return {**fixed, **bodies, "subject": str(message["Subject"])}
