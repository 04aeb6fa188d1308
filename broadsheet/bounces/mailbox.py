"""Reading the bounce mailbox named by BOUNCE_MAILBOX_URL: IMAP, POP3 or a local Maildir.

Each kind offers the same three steps: list the messages, fetch one, remove one. The poller
removes a message only after the report it holds has been committed.
"""

from __future__ import annotations

import imaplib
import mailbox
import poplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from broadsheet.errors import BroadsheetError, ConfigError

SCHEMES = ("imap", "imaps", "pop3", "pop3s", "maildir")
DEFAULT_PORTS = {"imap": 143, "imaps": 993, "pop3": 110, "pop3s": 995}
_VARIABLE = "BOUNCE_MAILBOX_URL"


class MailboxError(BroadsheetError):
    """The bounce mailbox cannot be reached or read (it is tried again at the next poll)."""


@dataclass(frozen=True)
class MailboxTarget:
    """Where bounces are read from, parsed from BOUNCE_MAILBOX_URL."""

    scheme: str
    path: str  # the IMAP folder, or the Maildir's directory
    host: str | None = None
    port: int | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)


def parse_mailbox_url(url: str) -> MailboxTarget:
    """`imap[s]://user:pass@host[:port]/FOLDER`, `pop3[s]://user:pass@host[:port]` or
    `maildir:///path`; a ConfigError naming BOUNCE_MAILBOX_URL otherwise."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise ConfigError(_VARIABLE, f"scheme must be one of {', '.join(SCHEMES)}")
    if scheme == "maildir":
        if parts.netloc or not parts.path.startswith("/"):
            raise ConfigError(_VARIABLE, "a Maildir is given as maildir:///absolute/path")
        return MailboxTarget(scheme, unquote(parts.path))
    if not parts.hostname or not parts.username or parts.password is None:
        raise ConfigError(_VARIABLE, f"give {scheme}://user:password@host[:port]")
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError as exc:
        raise ConfigError(_VARIABLE, "bad port") from exc
    folder = unquote(parts.path.strip("/")) or "INBOX"
    if scheme.startswith("pop3") and folder != "INBOX":
        raise ConfigError(_VARIABLE, "POP3 has no folders: leave the path out")
    return MailboxTarget(
        scheme, folder, parts.hostname, port, unquote(parts.username), unquote(parts.password)
    )


class Mailbox(Protocol):
    def keys(self) -> list[str]: ...
    def fetch(self, key: str) -> bytes: ...
    def remove(self, key: str) -> None: ...
    def close(self) -> None: ...


@contextmanager
def open_mailbox(url: str, timeout: float = 30) -> Iterator[Mailbox]:
    """The mailbox at `url`, logged in, and closed (deletions applied) on the way out.
    Whatever goes wrong talking to it is raised as MailboxError."""
    target = parse_mailbox_url(url)
    with _errors(target):
        box: Mailbox
        if target.scheme == "maildir":
            box = MaildirBox(target.path)
        elif target.scheme.startswith("imap"):
            box = ImapBox(target, timeout)
        else:
            box = Pop3Box(target, timeout)
    guarded = _Guarded(box, target)
    try:
        yield guarded
    except BaseException:
        with suppress(MailboxError):  # keep the first error, not one from closing
            guarded.close()
        raise
    guarded.close()


@contextmanager
def _errors(target: MailboxTarget) -> Iterator[None]:
    where = target.path if target.scheme == "maildir" else f"{target.host}:{target.port}"
    try:
        yield
    except (
        OSError,
        EOFError,
        KeyError,
        imaplib.IMAP4.error,
        poplib.error_proto,
        mailbox.Error,
    ) as exc:
        raise MailboxError(f"{target.scheme} {where}: {exc}") from exc


class _Guarded:
    """A mailbox whose every step raises MailboxError instead of the protocol's own errors."""

    def __init__(self, box: Mailbox, target: MailboxTarget) -> None:
        self._box, self._target = box, target

    def keys(self) -> list[str]:
        with _errors(self._target):
            return self._box.keys()

    def fetch(self, key: str) -> bytes:
        with _errors(self._target):
            return self._box.fetch(key)

    def remove(self, key: str) -> None:
        with _errors(self._target):
            self._box.remove(key)

    def close(self) -> None:
        with _errors(self._target):
            self._box.close()


class MaildirBox:
    """A local Maildir (new/ and cur/); removing deletes the file."""

    def __init__(self, path: str) -> None:
        self._box = mailbox.Maildir(path, factory=None, create=False)
        self._path = path

    def keys(self) -> list[str]:
        return sorted(self._box.keys())

    def fetch(self, key: str) -> bytes:
        return self._box.get_bytes(key)

    def remove(self, key: str) -> None:
        self._box.discard(key)  # gone already (a racing poll) is fine

    def close(self) -> None:
        self._box.close()


class ImapBox:
    """An IMAP folder. Removing flags the message \\Deleted; closing expunges. Flagged but not
    yet expunged messages (a poll that died) are skipped: their reports were committed."""

    def __init__(self, target: MailboxTarget, timeout: float) -> None:
        if target.scheme == "imaps":
            context = ssl.create_default_context()
            self._conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                target.host or "", target.port or 993, ssl_context=context, timeout=timeout
            )
        else:
            self._conn = imaplib.IMAP4(target.host or "", target.port or 143, timeout=timeout)
        self._removed = False
        try:
            _ok(self._conn.login(target.username or "", target.password or ""))
            _ok(self._conn.select(_quoted(target.path)))
        except BaseException:
            self._conn.shutdown()  # not logged in: just close the socket
            raise

    def keys(self) -> list[str]:
        data = _ok(self._conn.uid("SEARCH", "UNDELETED"))
        return [uid.decode() for uid in (data[0] or b"").split()]

    def fetch(self, key: str) -> bytes:
        for item in _ok(self._conn.uid("FETCH", key, "(BODY.PEEK[])")):
            if isinstance(item, tuple) and len(item) == 2:
                return bytes(item[1])
        raise imaplib.IMAP4.error(f"message {key} has gone")

    def remove(self, key: str) -> None:
        _ok(self._conn.uid("STORE", key, "+FLAGS.SILENT", "(\\Deleted)"))
        self._removed = True

    def close(self) -> None:
        try:
            if self._removed:
                _ok(self._conn.expunge())
        finally:
            self._conn.logout()


class Pop3Box:
    """A POP3 maildrop. Deletions take effect at QUIT; if the poll dies first, nothing is
    deleted and the next poll reads the messages again (recorded already: no change)."""

    def __init__(self, target: MailboxTarget, timeout: float) -> None:
        if target.scheme == "pop3s":
            context = ssl.create_default_context()
            self._conn: poplib.POP3 = poplib.POP3_SSL(
                target.host or "", target.port or 995, timeout=timeout, context=context
            )
        else:
            self._conn = poplib.POP3(target.host or "", target.port or 110, timeout=timeout)
        try:
            self._conn.user(target.username or "")
            self._conn.pass_(target.password or "")
        except BaseException:
            self._conn.close()  # not logged in: just close the socket
            raise

    def keys(self) -> list[str]:
        _, listing, _ = self._conn.list()
        return [line.split()[0].decode() for line in listing if line.strip()]

    def fetch(self, key: str) -> bytes:
        _, lines, _ = self._conn.retr(int(key))
        return b"\r\n".join(lines) + b"\r\n"

    def remove(self, key: str) -> None:
        self._conn.dele(int(key))

    def close(self) -> None:
        self._conn.quit()


def _ok(answer: tuple[str, list[Any]]) -> list[Any]:
    status, data = answer
    if status != "OK":
        raise imaplib.IMAP4.error(f"server said {status}: {data!r}")
    return data


def _quoted(folder: str) -> str:
    """An IMAP mailbox name as a quoted string, so names with spaces work."""
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'
