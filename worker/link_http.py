"""One request of the link check (or of a feed's fetch), sent to addresses checked beforehand.

The connection goes to those addresses and to no other: there is no second lookup that a
rebinding DNS could answer differently. The Host header, TLS's SNI and the certificate check
still name the link's host. Every step waits at most `timeout`, and no longer than the
request's deadline: a server sending its answer a byte at a time cannot hold the check.
"""

from __future__ import annotations

import http.client
import math
import socket
import ssl
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import SplitResult, quote

from worker.link_policy import IPAddress

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

USER_AGENT = "Broadsheet link check"
DEFAULT_PORTS = {"http": 80, "https": 443}
# What a browser leaves as it is in a path and query; the rest (spaces, non-ASCII) is
# percent-encoded, as a browser would before sending it.
_SAFE = "!#$%&'()*+,/:;=?@[]~"


@dataclass(frozen=True)
class Reply:
    status: int
    location: str | None


@dataclass(frozen=True)
class Page:
    """A GET's answer with its body (feeds: worker/feed_fetch.py); header names lower-case."""

    status: int
    headers: Mapping[str, str]
    body: bytes


class TooLarge(Exception):
    """The body is longer than the caller accepts (it was not read past that)."""


def tls_context() -> ssl.SSLContext:
    """The system's trusted certificates and hostname checks, with sockets whose reads end by
    their deadline (the same as plain connections)."""
    context = ssl.create_default_context()
    context.sslsocket_class = _TLSSocket
    return context


def ask(
    method: str,
    url: SplitResult,
    addresses: Sequence[IPAddress],
    *,
    tls: ssl.SSLContext,
    timeout: float,
    deadline: float,
) -> Reply:
    """Send `method` for `url` to the first of `addresses` that accepts a connection and read
    the status and headers (never the body). `deadline` is a time.monotonic() value."""
    connection = _connection(url, addresses, tls=tls, timeout=timeout, deadline=deadline)
    try:
        connection.request(
            method,
            _target(url),
            headers={"User-Agent": USER_AGENT, "Accept": "*/*", "Connection": "close"},
        )
        with connection.getresponse() as response:
            return Reply(response.status, response.getheader("Location"))
    finally:
        connection.close()


def get(
    url: SplitResult,
    addresses: Sequence[IPAddress],
    *,
    tls: ssl.SSLContext,
    timeout: float,
    deadline: float,
    headers: Mapping[str, str],
    max_bytes: int,
) -> Page:
    """GET `url` from the first of `addresses` that accepts a connection, reading at most
    `max_bytes` of the body (TooLarge past that, or when Content-Length says so first). No
    Accept-Encoding is sent, so the body comes as it is: nothing to inflate past the cap."""
    connection = _connection(url, addresses, tls=tls, timeout=timeout, deadline=deadline)
    try:
        connection.request("GET", _target(url), headers={"Connection": "close", **headers})
        with connection.getresponse() as response:
            length = response.getheader("Content-Length") or ""
            if length.isdigit() and int(length) > max_bytes:
                raise TooLarge(f"{length} bytes")
            body = response.read(max_bytes + 1)
            if len(body) > max_bytes:
                raise TooLarge(f"more than {max_bytes} bytes")
            found = {name.lower(): value for name, value in response.getheaders()}
            return Page(response.status, found, body)
    finally:
        connection.close()


def _connection(
    url: SplitResult,
    addresses: Sequence[IPAddress],
    *,
    tls: ssl.SSLContext,
    timeout: float,
    deadline: float,
) -> _Connection:
    port = url.port
    if port is None:
        port = DEFAULT_PORTS[url.scheme]
    return _Connection(
        url.hostname or "",
        port,
        addresses,
        tls=tls if url.scheme == "https" else None,
        timeout=timeout,
        deadline=deadline,
    )


def _target(url: SplitResult) -> str:
    return quote(url.path or "/", safe=_SAFE) + (
        f"?{quote(url.query, safe=_SAFE)}" if url.query else ""
    )


def _wait(deadline: float, timeout: float) -> float:
    """How long the next step may wait; TimeoutError once the deadline has passed."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("the link check's time for this link ran out")
    return min(left, timeout)


class _Socket(socket.socket):
    """A TCP socket each of whose reads waits at most `step` seconds, and ends by `deadline`."""

    deadline = math.inf
    step = math.inf

    def recv_into(self, buffer: WriteableBuffer, nbytes: int = 0, flags: int = 0) -> int:
        self.settimeout(_wait(self.deadline, self.step))
        return super().recv_into(buffer, nbytes, flags)


class _TLSSocket(ssl.SSLSocket):
    """The same, over TLS (SSLContext.sslsocket_class; its handshake is one timed step)."""

    deadline = math.inf
    step = math.inf

    def recv_into(self, buffer: WriteableBuffer, nbytes: int | None = None, flags: int = 0) -> int:
        self.settimeout(_wait(self.deadline, self.step))
        return super().recv_into(buffer, nbytes, flags)


class _Connection(http.client.HTTPConnection):
    """http.client's request and response, over a connection to checked addresses."""

    def __init__(
        self,
        host: str,
        port: int,
        addresses: Sequence[IPAddress],
        *,
        tls: ssl.SSLContext | None,
        timeout: float,
        deadline: float,
    ) -> None:
        super().__init__(host, port, timeout=timeout)
        self.default_port = DEFAULT_PORTS["https" if tls else "http"]  # Host: leaves it out
        self.addresses, self.tls, self.deadline = addresses, tls, deadline

    def connect(self) -> None:
        """The first of the addresses that accepts, in the resolver's order, then TLS."""
        assert self.timeout is not None
        failure: OSError = ConnectionError("no address to connect to")
        for address in self.addresses:
            sock = _Socket(socket.AF_INET if address.version == 4 else socket.AF_INET6)
            sock.deadline, sock.step = self.deadline, self.timeout
            try:
                sock.settimeout(_wait(self.deadline, self.timeout))
                sock.connect((str(address), self.port))
                break
            except OSError as exc:
                sock.close()
                failure = exc
        else:
            raise failure
        if self.tls is None:
            self.sock = sock
            return
        try:
            sock.settimeout(_wait(self.deadline, self.timeout))
            wrapped = self.tls.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise
        assert isinstance(wrapped, _TLSSocket)
        wrapped.deadline, wrapped.step = self.deadline, self.timeout
        self.sock = wrapped
