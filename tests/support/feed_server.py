"""A feed server on loopback for the feed tests: each path answers what the test set for it
(a fixture file, a body, a status, a slow or endless answer), honouring If-None-Match, and
records every request it gets."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadsheet.models import Feed

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "feeds"
# What a poll of this loopback server records under the production address guard.
INTERNAL = "the address of 127.0.0.1 is internal"


@dataclass
class Answer:
    """What a path answers: `body` with `status`; an ETag makes a matching If-None-Match get
    304; `delay` seconds before answering; `endless` streams bytes until the client leaves."""

    body: bytes = b""
    status: int = 200
    content_type: str = "application/xml"
    etag: str | None = None
    last_modified: str | None = None
    delay: float = 0.0
    endless: bool = False
    headers: dict[str, str] = field(default_factory=dict)


class _Handler(BaseHTTPRequestHandler):
    server: FeedServer

    def do_GET(self) -> None:
        self.server.seen.append((self.path, dict(self.headers.items())))
        answer = self.server.answers.get(self.path, Answer(b"not here", status=404))
        if answer.delay:
            time.sleep(answer.delay)
        if answer.etag and self.headers.get("If-None-Match") == answer.etag:
            self.send_response(304)
            self.send_header("ETag", answer.etag)
            self.end_headers()
            return
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        if answer.etag:
            self.send_header("ETag", answer.etag)
        if answer.last_modified:
            self.send_header("Last-Modified", answer.last_modified)
        if answer.endless:  # no length: the body ends when the connection does
            self.end_headers()
            try:
                while True:
                    self.wfile.write(b"<!-- padding -->" * 4096)
            except OSError:
                return
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class FeedServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answers: dict[str, Answer] = {}
        self.seen: list[tuple[str, dict[str, str]]] = []

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"

    def requests_for(self, path: str) -> list[dict[str, str]]:
        return [headers for seen, headers in self.seen if seen == path]

    def handle_error(self, request, client_address) -> None:
        pass  # a client that leaves mid-answer (the size cap, the timeout) is expected


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def running() -> Iterator[FeedServer]:
    server = FeedServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    thread.join(10)
    server.server_close()


def feed_errors(session: Session) -> dict[str, str | None]:
    """Each feed's last error by its address, read in a transaction ended at once (on SQLite
    an open read would hold back the poller's writes)."""
    rows = session.execute(select(Feed.url, Feed.last_error)).all()
    session.rollback()
    return {url: error for url, error in rows}
