"""Servers on loopback for the link check's tests: a small web site (plain HTTP, and TLS on
the same port), and a bare TCP port that records who connects and answers badly on purpose."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import struct
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

SLOW_SECONDS = 1.5  # how long /slow takes to answer


class Handler(BaseHTTPRequestHandler):
    """/ok, /missing, /broken (500), /no-head (405 to HEAD), /moved (to /ok), /loop, /slow,
    and /to/<address> (a redirect to that address)."""

    server: Server

    def do_HEAD(self) -> None:
        self.answer(head=True)

    def do_GET(self) -> None:
        self.answer(head=False)

    def answer(self, *, head: bool) -> None:
        self.server.seen.append(
            (self.command, self.path, self.headers["User-Agent"], self.headers["Host"])
        )
        status, headers = {
            "/ok": (200, {}),
            "/missing": (404, {}),
            "/broken": (500, {}),
            "/no-head": (405 if head else 200, {}),
            "/moved": (301, {"Location": "/ok"}),
            "/loop": (302, {"Location": "/loop"}),
        }.get(self.path, (404, {}))
        if self.path.startswith("/to/"):
            status, headers = 302, {"Location": unquote(self.path.removeprefix("/to/"))}
        if self.path == "/slow":
            time.sleep(SLOW_SECONDS)
            status = 200
        body = b"<p>a page</p>" * 100
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class Server(ThreadingHTTPServer):
    """Plain HTTP on loopback; with `tls`, it also speaks TLS on the same port (a connection
    whose first byte opens a TLS handshake is wrapped), as http:// and https:// at one host.
    `seen` holds (method, path, User-Agent, Host) of each request, `names` each SNI name."""

    daemon_threads = True
    # socketserver listens with a backlog of 5; the check opens up to 16 connections at once,
    # and on a busy machine a dropped SYN waits a second for its retry, past the test timeout.
    request_queue_size = 64

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.tls = tls
        self.seen: list[tuple[str, str, str, str]] = []
        self.names: list[str | None] = []
        self.errors: list[BaseException | None] = []
        if tls is not None:
            tls.sni_callback = lambda _sock, name, _context: self.names.append(name)

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def handle_error(self, request, client_address) -> None:
        """A client that hangs up or refuses the certificate is expected here: kept, not
        printed."""
        self.errors.append(sys.exception())

    def finish_request(self, request, client_address) -> None:
        request.settimeout(5)
        if self.tls is None or request.recv(1, socket.MSG_PEEK) != b"\x16":
            super().finish_request(request, client_address)
            return
        with self.tls.wrap_socket(request, server_side=True) as wrapped:  # takes over the fd
            super().finish_request(wrapped, client_address)


def serve(server: Server) -> Iterator[Server]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    thread.join(10)
    server.server_close()


def make_certificate(folder: Path, names: list[str]) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1 and the DNS `names`, and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    alternatives: list[x509.GeneralName] = [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    alternatives += [x509.DNSName(name) for name in names]
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(alternatives), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_file), str(key_file)


class Listener:
    """A TCP port that records every connection made to it (`peers`) and answers badly, as
    `behaviour` says: "close" at once, "reset" (RST to the first byte), "banner" (an SSH
    greeting, not HTTP), "silent" (holds the connection, says nothing) or "drip" (an HTTP
    answer's head, a byte every 50 ms, never ending). `host` "::" listens on every local
    address, IPv4 and IPv6."""

    def __init__(self, behaviour: str = "close", host: str = "::", port: int = 0) -> None:
        self.behaviour = behaviour
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        if family == socket.AF_INET6:
            self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        self.sock.bind((host, port))
        self.sock.listen(16)
        self.sock.settimeout(0.05)
        self.port: int = self.sock.getsockname()[1]
        self.peers: list[object] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, peer = self.sock.accept()
            except TimeoutError:
                continue
            self.peers.append(peer)
            thread = threading.Thread(target=self._answer, args=(conn,), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            if self.behaviour == "reset":
                # Once the client has spoken: CPython's ssl leaves its socket unclosed when a
                # reset arrives before wrap_socket has looked at the connection.
                conn.settimeout(5)
                with suppress(OSError):
                    conn.recv(1)
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            elif self.behaviour == "banner":
                conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")
            elif self.behaviour == "silent":
                self.stop.wait()
            elif self.behaviour == "drip":
                conn.sendall(b"HTTP/1.1 200 OK\r\nX-Drip: ")
                while not self.stop.wait(0.05):
                    try:
                        conn.sendall(b"a")
                    except OSError:
                        return

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(5)
        self.sock.close()


@contextmanager
def listening(behaviour: str = "close", host: str = "::", port: int = 0) -> Iterator[Listener]:
    listener = Listener(behaviour, host, port)
    try:
        yield listener
    finally:
        listener.close()
