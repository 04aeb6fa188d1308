"""The SMTP client against the real server on loopback: what goes over the wire."""

from __future__ import annotations

import pytest

from broadsheet.relays import parse_smtp_url
from worker.smtp import send_one


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelined", "one-by-one"])
def test_lines_that_start_with_a_dot_arrive_as_written(stack, relay, pipelining):
    relay.pipelining = pipelining
    message = (
        b".X-Odd: a header line that starts with a dot\r\n"
        b"Subject: dots\r\n\r\n"
        b".\r\n"
        b"..two\r\n"
        b"a line. with a dot.\r\n"
        b".last\r\n"
    )
    reply = send_one(
        parse_smtp_url(stack["smtp"].url), "editor@example.com", "reader@example.net", message
    )
    assert reply.startswith("250")
    (received,) = relay.wait_for(1)
    assert received.data == message
    assert received.rcpt_tos == ("reader@example.net",)


@pytest.fixture
def relay(smtp):  # type: ignore[no-untyped-def]
    """The loopback server's recorder, empty before and as configured after the test."""
    smtp.reset()
    yield smtp
    smtp.reset()
