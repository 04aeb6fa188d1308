"""The bounce mailbox: IMAP and POP3 (against small loopback servers speaking the protocols to
the real imaplib/poplib clients), and a Maildir polled end to end by the real Celery worker."""

from __future__ import annotations

import json
import mailbox
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from broadsheet import health
from broadsheet.bounces.intake import process_mail
from broadsheet.bounces.mailbox import MailboxError, open_mailbox
from broadsheet.db import make_session_factory
from broadsheet.models import BounceReport, Campaign, Delivery, Subscriber
from broadsheet.services.articles import create_article
from broadsheet.services.campaigns import create_campaign, start_send
from broadsheet.services.subscriptions import create_subscriber
from tests.support import FIXTURES_DIR
from worker import bounces
from worker.app import celery_config
from worker.tasks import start_campaign

FIXTURES = FIXTURES_DIR / "bounces"
BOUNCE = (FIXTURES / "postfix-5.1.1-user-unknown.eml").read_bytes().replace(b"\n", b"\r\n")
AUTO_REPLY = b"From: ann@example.com\r\nSubject: Out of office\r\n\r\nBack on Monday.\r\n"


class Store:
    """The messages a fake server holds: uid -> bytes, and which are flagged deleted."""

    def __init__(self, messages: list[bytes]) -> None:
        self.messages = dict(enumerate(messages, start=1))
        self.deleted: set[int] = set()


class StoreServer(socketserver.ThreadingTCPServer):
    """A loopback server whose handlers serve the messages of `store`."""

    daemon_threads = True

    def __init__(self, handler: type[socketserver.BaseRequestHandler], store: Store) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.store = store


class ImapHandler(socketserver.StreamRequestHandler):
    """Just enough IMAP4rev1 for imaplib: LOGIN, SELECT, UID SEARCH/FETCH/STORE, EXPUNGE."""

    server: StoreServer

    def handle(self) -> None:
        store = self.server.store
        self.say("* OK fake IMAP4rev1 ready")
        while line := self.rfile.readline().decode().rstrip("\r\n"):
            tag, command, *args = line.split(" ")
            command = " ".join([command, args.pop(0)]) if command == "UID" else command
            if command == "CAPABILITY":
                self.say("* CAPABILITY IMAP4rev1")
            elif command == "LOGIN" and args != ["bounces", '"s3cret"']:
                self.say(f"{tag} NO [AUTHENTICATIONFAILED] invalid credentials")
                continue
            elif command == "SELECT":
                self.say(f"* {len(store.messages)} EXISTS")
            elif command == "UID SEARCH":
                uids = [str(u) for u in store.messages if u not in store.deleted]
                self.say(" ".join(["* SEARCH", *uids]))
            elif command == "UID FETCH":
                data = store.messages[int(args[0])]
                self.wfile.write(f"* 1 FETCH (UID {args[0]} BODY[] {{{len(data)}}}\r\n".encode())
                self.wfile.write(data + b")\r\n")
            elif command == "UID STORE":
                store.deleted.add(int(args[0]))
            elif command == "EXPUNGE":
                for uid in sorted(store.deleted):
                    store.messages.pop(uid, None)
                store.deleted.clear()
            elif command == "LOGOUT":
                self.say("* BYE")
                self.say(f"{tag} OK LOGOUT done")
                return
            self.say(f"{tag} OK {command} done")

    def say(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")


class Pop3Handler(socketserver.StreamRequestHandler):
    """Just enough POP3 for poplib: USER/PASS, LIST, RETR, DELE, and deletions at QUIT."""

    server: StoreServer

    def handle(self) -> None:
        store = self.server.store
        self.say("+OK fake POP3 ready")
        while line := self.rfile.readline().decode().rstrip("\r\n"):
            command, *args = line.split(" ")
            if command == "PASS" and args != ["s3cret"]:
                self.say("-ERR [AUTH] invalid credentials")
            elif command == "LIST":
                self.say(f"+OK {len(store.messages)} messages")
                for number, data in store.messages.items():
                    self.say(f"{number} {len(data)}")
                self.say(".")
            elif command == "RETR":
                self.say("+OK message follows")
                for body_line in store.messages[int(args[0])].split(b"\r\n")[:-1]:
                    stuffed = b"." + body_line if body_line.startswith(b".") else body_line
                    self.wfile.write(stuffed + b"\r\n")
                self.say(".")
            elif command == "DELE":
                store.deleted.add(int(args[0]))
                self.say("+OK deleted")
            elif command == "QUIT":
                for number in store.deleted:
                    store.messages.pop(number, None)
                self.say("+OK bye")
                return
            else:
                self.say("+OK")

    def say(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")


@pytest.fixture(params=["imap", "pop3"])
def remote(request) -> Iterator[tuple[str, Store]]:
    """A loopback IMAP or POP3 server holding a bounce and an auto-reply: (URL, its store)."""
    handler = ImapHandler if request.param == "imap" else Pop3Handler
    server = StoreServer(handler, Store([BOUNCE, AUTO_REPLY]))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    path = "/Bounces" if request.param == "imap" else ""
    yield f"{request.param}://bounces:s3cret@127.0.0.1:{port}{path}", server.store
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_remote_mailbox_is_read_and_emptied(remote):
    url, store = remote
    with open_mailbox(url, timeout=5) as box:
        keys = box.keys()
        assert [box.fetch(k) for k in keys] == [BOUNCE, AUTO_REPLY]
        for key in keys:
            box.remove(key)
        assert store.messages, "nothing is deleted before the mailbox is closed"
    assert store.messages == {}


def test_wrong_password_is_a_mailbox_error(remote):
    url, store = remote
    with pytest.raises(MailboxError), open_mailbox(url.replace("s3cret", "wrong"), timeout=5):
        pass
    assert len(store.messages) == 2


@pytest.fixture
def poller(monkeypatch, settings, engine, stack) -> Callable[[str], dict[str, int]]:
    """Run the poll task in this process against `url` (the worker's resources stood in)."""

    def poll(url: str) -> dict[str, int]:
        res = SimpleNamespace(
            settings=replace(settings, bounce_mailbox_url=url),
            sessions=make_session_factory(engine),
            redis=stack["redis"].client(),
        )
        monkeypatch.setattr(bounces, "resources", lambda: res)
        counts: dict[str, int] = bounces.poll_bounces()
        return counts

    return poll


def test_poll_applies_each_message_then_deletes_it(remote, poller, committed):
    url, store = remote
    assert poller(url) == {"unmatched": 1, "ignored": 1}
    assert store.messages == {}
    assert committed.scalar(select(func.count()).select_from(BounceReport)) == 1


def test_a_message_whose_transaction_fails_stays_in_the_mailbox(
    remote, poller, committed, monkeypatch
):
    url, store = remote
    real = process_mail

    def failing(session, raw, *args, **kwargs):
        if raw == AUTO_REPLY:
            raise RuntimeError("database went away")
        return real(session, raw, *args, **kwargs)

    monkeypatch.setattr(bounces, "process_mail", failing)
    with pytest.raises(RuntimeError):
        poller(url)
    assert list(store.messages.values()) == [AUTO_REPLY], "only the committed one is deleted"
    monkeypatch.setattr(bounces, "process_mail", real)
    assert poller(url) == {"ignored": 1}
    assert store.messages == {}


def test_unreachable_mailbox_is_logged_not_raised(poller, caplog, stack):
    with socketserver.TCPServer(("127.0.0.1", 0), socketserver.BaseRequestHandler) as closed:
        port = closed.server_address[1]
    assert poller(f"imap://bounces:s3cret@127.0.0.1:{port}/INBOX") == {}
    assert "bounce mailbox" in caplog.text
    # The overview's health says so (broadsheet/health.py).
    fact = json.loads(stack["redis"].client().get(health.MAILBOX_KEY))
    assert fact["ok"] is False and "Connection refused" in fact["result"]


def test_poll_does_nothing_without_a_mailbox(poller):
    assert poller(None) == {}


def test_beat_polls_the_bounce_mailbox_every_minute(settings):
    schedule = celery_config(settings)["beat_schedule"]
    assert isinstance(schedule, dict)
    entry = schedule["poll-bounces"]
    assert (entry["task"], entry["schedule"]) == ("broadsheet.poll_bounces", 60.0)
    assert entry["options"]["expires"] <= 60, "polls that waited in the queue do not pile up"


# --- end to end ----------------------------------------------------------------------------


def wait_until(session, check: Callable[[], object], timeout: float = 30) -> None:
    """Poll `check` in fresh transactions (an open one would hold SQLite's write lock)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            session.expire_all()
            if check():
                return
        finally:
            session.rollback()
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {check.__doc__ or check}")
        time.sleep(0.1)


def send_campaign(session, title: str) -> int:
    article = create_article(session, title=title, body_markdown="Steady on.")
    campaign = create_campaign(session, article.id)
    start_send(session, campaign.id)
    session.commit()
    start_campaign.delay(campaign.id)
    return campaign.id


def dsn(original: bytes, recipient: str) -> bytes:
    """A Postfix-style 5.1.1 bounce returning `original` whole."""
    head = (
        "From: MAILER-DAEMON@mx.example.com (Mail Delivery System)\r\n"
        "To: news@example.test\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.com\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        f"Diagnostic-Code: smtp; 550 5.1.1 <{recipient}>: user unknown\r\n\r\n"
        "--B\r\nContent-Type: message/rfc822\r\n\r\n"
    )
    return head.encode() + original + b"\r\n--B--\r\n"


def test_worker_polls_a_maildir_and_the_next_campaign_skips_the_bounced(
    committed, smtp, celery_worker, tmp_path
):
    box = mailbox.Maildir(tmp_path / "bounces", create=True)
    ann = create_subscriber(committed, "ann@example.com", "Ann", status="active")
    bob = create_subscriber(committed, "bob@example.com", "Bob", status="active")
    first = send_campaign(committed, "First Issue")
    to_ann = next(m for m in smtp.wait_for(2) if m.rcpt_tos == ("ann@example.com",))

    def all_sent() -> bool:
        """both deliveries recorded as sent"""
        rows = committed.scalars(select(Delivery.status).where(Delivery.campaign_id == first))
        return [s.value for s in rows] == ["sent", "sent"]

    def ann_bounced() -> bool:
        """Ann bounced and the mailbox emptied"""
        reader = committed.get(Subscriber, ann.id, populate_existing=True)
        return reader.status.value == "bounced" and not box.keys()

    wait_until(committed, all_sent)
    box.add(dsn(to_ann.data, "ann@example.com"))
    celery_worker.restart(BOUNCE_MAILBOX_URL=f"maildir://{tmp_path / 'bounces'}")
    try:
        bounces.poll_bounces.delay()
        wait_until(committed, ann_bounced)
        row = committed.scalar(select(Delivery).where(Delivery.subscriber_id == ann.id))
        assert row.status.value == "bounced" and "5.1.1" in row.relay_reply
        committed.rollback()

        box.add(dsn(to_ann.data, "ann@example.com"))  # the same bounce, delivered again
        bounces.poll_bounces.delay()
        wait_until(committed, lambda: not box.keys())
        assert committed.scalar(select(func.count()).select_from(BounceReport)) == 1
        committed.rollback()

        smtp.reset()
        second = send_campaign(committed, "Second Issue")

        def second_sent() -> bool:
            """the second campaign finished"""
            campaign: Campaign = committed.get(Campaign, second, populate_existing=True)
            return campaign.status.value == "sent"

        wait_until(committed, second_sent)
        assert [m.rcpt_tos for m in smtp.messages] == [("bob@example.com",)]
        assert committed.get(Subscriber, bob.id, populate_existing=True).status.value == "active"
        committed.rollback()
    finally:
        celery_worker.restart()
