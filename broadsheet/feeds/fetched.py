"""What a fetch of a feed brought back, or why it failed: the contract between the worker,
which fetches, and the domain, which reads and records."""

from __future__ import annotations

from dataclasses import dataclass

NOT_MODIFIED = 304


@dataclass(frozen=True)
class FetchRequest:
    """A feed to fetch, with the validators of its last answer (sent back as If-None-Match
    and If-Modified-Since)."""

    feed_id: int
    url: str
    etag: str | None
    last_modified: str | None


@dataclass(frozen=True)
class Fetched:
    """A feed's answer: 200 with its body, or 304 (unchanged since the validators sent)."""

    status: int
    body: bytes = b""
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    url: str | None = None  # where the body finally came from, after redirects

    @property
    def unchanged(self) -> bool:
        return self.status == NOT_MODIFIED


class FeedUnavailable(Exception):
    """The feed could not be fetched or read; the message says why, for the log and the admin
    (e.g. "the server answered 500 Internal Server Error", "not an RSS or Atom feed")."""
