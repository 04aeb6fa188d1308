"""The SMTP client against the real server on loopback: what goes over the wire."""

from __future__ import annotations

import pytest

from broadsheet.relays import parse_smtp_url
from worker import smtp as client
from worker.smtp import Aborted, Rejected, send_one

MESSAGE = b"Subject: hello\r\n\r\nbody\r\n"


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


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelined", "one-by-one"])
def test_the_body_goes_only_after_meanwhile_ran_once(stack, relay, pipelining):
    relay.pipelining = pipelining
    seen: list[int] = []  # messages the relay had when the ledger write ran

    def meanwhile() -> bool:
        seen.append(len(relay.messages))
        return True

    conn = client.connect(parse_smtp_url(stack["smtp"].url))
    try:
        reply = client.transmit(
            conn, "editor@example.com", "reader@example.net", MESSAGE, meanwhile=meanwhile
        )
    finally:
        client.close(conn)
    assert reply.startswith("250")
    assert seen == [0]
    assert [m.data for m in relay.wait_for(1)] == [MESSAGE]


def test_a_refused_recipient_still_runs_meanwhile_once(stack, relay):
    relay.rcpt_rule = {"gone@example.net": "550 5.1.1 no such user"}.get
    calls: list[str] = []

    def meanwhile() -> bool:
        calls.append("ran")
        return True

    conn = client.connect(parse_smtp_url(stack["smtp"].url))
    try:
        with pytest.raises(Rejected) as refusal:
            client.transmit(
                conn, "editor@example.com", "gone@example.net", MESSAGE, meanwhile=meanwhile
            )
    finally:
        client.close(conn)
    assert refusal.value.code == 550 and calls == ["ran"]


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelined", "one-by-one"])
def test_no_message_leaves_when_meanwhile_says_stop(stack, relay, pipelining):
    """The claim was lost while the envelope was answered: the body is never sent."""
    relay.pipelining = pipelining
    target = parse_smtp_url(stack["smtp"].url)
    conn = client.connect(target)
    try:
        with pytest.raises(Aborted):
            client.transmit(
                conn, "editor@example.com", "reader@example.net", MESSAGE, meanwhile=lambda: False
            )
    finally:
        client.close(conn)
    # A later message arrives alone: the stopped one was never ended, so never delivered.
    send_one(target, "editor@example.com", "next@example.net", MESSAGE)
    assert [m.rcpt_tos for m in relay.wait_for(1)] == [("next@example.net",)]
    assert len(relay.messages) == 1


def test_a_failing_meanwhile_closes_the_connection_and_sends_nothing(stack, relay):
    """The ledger could not be written: the error surfaces at once, not after a timeout."""
    conn = client.connect(parse_smtp_url(stack["smtp"].url))

    def ledger_down() -> bool:
        raise ConnectionError("database unreachable")

    with pytest.raises(ConnectionError):
        client.transmit(
            conn, "editor@example.com", "reader@example.net", MESSAGE, meanwhile=ledger_down
        )
    assert conn.sock is None
    client.close(conn)  # what the batch does next: returns at once on a closed connection
    assert relay.messages == []


@pytest.fixture
def relay(smtp):
    """The loopback server's recorder, empty before and as configured after the test."""
    smtp.reset()
    yield smtp
    smtp.reset()
