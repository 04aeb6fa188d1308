"""The link check: does each link of a campaign answer? HEAD requests from this worker host.

Editors are trusted: the addresses are the ones they put in their articles, fetched as they
are. A server that refuses HEAD (405, 501) is asked again with a GET whose body is never read.
When no link could even be connected to, the host is taken to be offline and the report says
the check was skipped, rather than calling every link broken.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.error import HTTPError, URLError

USER_AGENT = "Broadsheet link check"
MAX_REDIRECTS = 5
MAX_THREADS = 8
_HEAD_REFUSED = (405, 501)


@dataclass(frozen=True)
class _Answer:
    ok: bool
    status: int | None = None
    error: str | None = None
    unreachable: bool = False  # no connection at all: DNS, refused, unreachable, connect timeout


def check_links(urls: Sequence[str], *, timeout: float = 3.0) -> dict[str, Any]:
    """Ask every URL (a few at a time, redirects followed) and report, JSON-serialisable:
    `checked_at`, `results` (url, ok, status, error, and for http:// links whether the
    https:// form answered) and `skipped` (why the check is void, or None)."""
    urls = list(dict.fromkeys(urls))
    secure = [_https_form(url) for url in urls]
    context = ssl.create_default_context()
    with ThreadPoolExecutor(max_workers=max(1, min(MAX_THREADS, len(urls)))) as pool:
        asked = [pool.submit(_ask, url, timeout, context) for url in urls]
        also = [url and pool.submit(_ask, url, timeout, context) for url in secure]
        answers = [future.result() for future in asked]
        https = [future.result() if future else None for future in also]
    results = [
        {
            "url": url,
            "ok": answer.ok,
            "status": answer.status,
            "error": answer.error,
            "https": None if other is None else other.ok,
        }
        for url, answer, other in zip(urls, answers, https, strict=True)
    ]
    skipped = None
    if answers and all(answer.unreachable for answer in answers):
        skipped = (
            f"skipped: this server cannot reach the internet ({len(urls)} "
            f"{'link' if len(urls) == 1 else 'links'} not checked)"
        )
    return {
        "checked_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "results": results,
        "skipped": skipped,
    }


def _https_form(url: str) -> str | None:
    scheme, sep, rest = url.partition("://")
    return f"https://{rest}" if sep and scheme.lower() == "http" else None


def _ask(url: str, timeout: float, context: ssl.SSLContext) -> _Answer:
    answer = _request(url, "HEAD", timeout, context)
    if answer.status in _HEAD_REFUSED:
        answer = _request(url, "GET", timeout, context)
    return answer


def _request(url: str, method: str, timeout: float, context: ssl.SSLContext) -> _Answer:
    if not url.lower().startswith(("http://", "https://")):
        return _Answer(ok=False, error="not an http(s) address")
    opener = _opener(context)
    # S310: http(s) only, here and in redirects: the opener has no other scheme's handler.
    request = urllib.request.Request(  # noqa: S310
        url, method=method, headers={"User-Agent": USER_AGENT}
    )
    try:
        with opener.open(request, timeout=timeout) as response:  # the body is never read
            return _Answer(ok=True, status=response.status)
    except HTTPError as exc:
        exc.close()
        if 300 <= exc.code < 400 and exc.msg.startswith(_RedirectHandler.inf_msg):
            return _Answer(ok=False, status=exc.code, error=f"more than {MAX_REDIRECTS} redirects")
        return _Answer(ok=exc.code < 400, status=exc.code)
    except URLError as exc:
        reason = exc.reason
        if isinstance(reason, _Unreachable):
            return _Answer(ok=False, error=str(reason), unreachable=True)
        return _Answer(ok=False, error=_describe(reason, timeout))
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return _Answer(ok=False, error=_describe(exc, timeout))


def _opener(context: ssl.SSLContext) -> urllib.request.OpenerDirector:
    """urllib's opener for http and https alone (with the environment's proxies): no file:,
    ftp: or data: handler, so neither a link nor a redirect can reach them."""
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler(),
        _HTTPHandler(),
        _HTTPSHandler(context=context),
        _RedirectHandler(),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    return opener


def _describe(error: object, timeout: float) -> str:
    """A short reason a link gave no answer."""
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"TLS certificate not accepted: {error.verify_message}"
    if isinstance(error, ssl.SSLError):
        return f"TLS failed: {error.reason or error}"
    if isinstance(error, TimeoutError):
        return f"no answer within {timeout:g} s"
    if isinstance(error, http.client.HTTPException):
        return f"not an HTTP answer ({type(error).__name__})"
    if isinstance(error, ConnectionResetError | http.client.RemoteDisconnected):
        return "the server closed the connection"
    if isinstance(error, ValueError):
        return f"not a valid address ({error})"
    return str(error)[:200] or type(error).__name__


class _Unreachable(OSError):
    """The connection could not be made at all (as opposed to a server that answered badly)."""


def _unreachable(exc: OSError) -> _Unreachable:
    if isinstance(exc, socket.gaierror):
        return _Unreachable("the name does not resolve (DNS)")
    if isinstance(exc, ConnectionRefusedError):
        return _Unreachable("connection refused")
    if isinstance(exc, TimeoutError):
        return _Unreachable("no connection within the timeout")
    return _Unreachable(exc.strerror or str(exc) or type(exc).__name__)


def _connect(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
    """socket.create_connection, its failures marked as the network's (not the server's)."""
    try:
        return socket.create_connection(address, *args, **kwargs)
    except OSError as exc:
        raise _unreachable(exc) from exc


class _HTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = _connect  # the TCP step alone; TLS errors stay the server's


class _HTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = _connect


class _HTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_HTTPConnection, req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, *, context: ssl.SSLContext) -> None:
        super().__init__(context=context)
        self.context = context

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_HTTPSConnection, req, context=self.context)


class _RedirectHandler(urllib.request.HTTPRedirectHandler):
    """Follows at most MAX_REDIRECTS redirects, and keeps asking with HEAD (urllib's own
    handler turns a redirected HEAD into a GET)."""

    max_redirections = MAX_REDIRECTS

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None:
            new.method = req.get_method()
        return new
