"""The link check: does each link of a campaign work? HEAD requests from this worker host.

Only public internet addresses are asked (worker/link_policy.py), before connecting and after
every redirect: each host is looked up once, every address it has is checked, and the request
goes to an address that was checked (worker/link_http.py). A server that refuses HEAD (405,
501) is asked again with a GET whose body is never read.

Each link is reported as working, broken or not checked with a short reason, and a server
that refuses the connection, stays silent or answers something other than HTTP reads the
same ("no answer"), so the check cannot tell an open port from a closed one. Time is bounded:
each step of a request, each link with its redirects, and the whole check. When no link's
host name could be looked up, the host is taken to be offline and the report says the check
was skipped, rather than calling every link broken.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from urllib.parse import urljoin, urlsplit

from broadsheet.mail.link_report import BROKEN, NOT_CHECKED, WORKS, LinkReport, LinkResult, Outcome
from worker.link_http import ask, tls_context
from worker.link_policy import PUBLIC_ONLY, AddressPolicy, Resolver, system_resolver

MAX_REDIRECTS = 5
MAX_THREADS = 8
TIMEOUT = 3.0  # seconds, for each step: connecting, TLS, each read
LINK_SECONDS = 10.0  # for a link: its redirects and the GET after a refused HEAD included
CHECK_SECONDS = 60.0  # for the whole check; the links left are reported as not checked
_HEAD_REFUSED = (405, 501)
_REDIRECTS = (301, 302, 303, 307, 308)
NO_ANSWER = "no answer"
NO_SUCH_NAME = "the name does not resolve"
OUT_OF_TIME = "the check ran out of time"
# Why a link is not checked: (what, after a redirect?) -> reason.
_REFUSALS = {
    ("scheme", False): "not a web address",
    ("scheme", True): "it redirects to a non-web address",
    ("address", False): "the address is internal",
    ("address", True): "it redirects to an internal address",
}


@dataclass(frozen=True)
class _Verdict:
    outcome: Outcome
    reason: str | None = None


class _Stop(Exception):
    """Ends a link's check with `verdict` (an address refused, too many redirects)."""

    def __init__(self, verdict: _Verdict) -> None:
        super().__init__(verdict.reason)
        self.verdict = verdict


@dataclass(frozen=True)
class _Check:
    """What every link's check shares."""

    policy: AddressPolicy
    resolve: Resolver
    tls: ssl.SSLContext
    timeout: float
    link_seconds: float
    deadline: float  # time.monotonic() by which the whole check ends


def check_links(
    urls: Sequence[str],
    *,
    policy: AddressPolicy = PUBLIC_ONLY,
    resolve: Resolver = system_resolver,
    timeout: float = TIMEOUT,
    link_seconds: float = LINK_SECONDS,
    check_seconds: float = CHECK_SECONDS,
) -> LinkReport:
    """Ask every URL (a few at a time, redirects followed) and report, JSON-serialisable:
    `checked_at`, `results` (url, outcome, reason, and for http:// links whether the https://
    form works) and `skipped` (why the check is void, or None). Returns within about
    `check_seconds`. `policy` says which addresses may be connected to, `resolve` looks names
    up: production keeps the defaults (public addresses, the system's resolver)."""
    urls = list(dict.fromkeys(urls))
    check = _Check(
        policy, resolve, tls_context(), timeout, link_seconds, time.monotonic() + check_seconds
    )
    pool = ThreadPoolExecutor(max_workers=max(1, min(MAX_THREADS, 2 * len(urls))))
    try:
        asked = [pool.submit(_ask, url, check) for url in urls]
        also = [pool.submit(_ask, url, check) if url else None for url in map(_https_form, urls)]
        wait([*asked, *(future for future in also if future)], timeout=check_seconds)
    finally:
        # What still runs ends by the deadline on its own (every read and connection has it).
        pool.shutdown(wait=False, cancel_futures=True)
    answers = [_outcome(future) for future in asked]
    results: list[LinkResult] = [
        {
            "url": url,
            "outcome": answer.outcome,
            "reason": answer.reason,
            "https": _works(other),
        }
        for url, answer, other in zip(urls, answers, also, strict=True)
    ]
    skipped = None
    if answers and all(answer.reason == NO_SUCH_NAME for answer in answers):
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


def _outcome(future: Future[_Verdict]) -> _Verdict:
    """A link's verdict, or "not checked" when the whole check's time ran out first: it is
    still running, or its turn never came (the pool's shutdown cancelled it)."""
    if future.done() and not future.cancelled():
        return future.result()
    return _Verdict(NOT_CHECKED, OUT_OF_TIME)


def _works(future: Future[_Verdict] | None) -> bool | None:
    if future is None:
        return None
    verdict = _outcome(future)
    return None if verdict.outcome == NOT_CHECKED else verdict.outcome == WORKS


def _ask(url: str, check: _Check) -> _Verdict:
    """One link's verdict: HEAD, redirects followed, then GET if the server refused HEAD."""
    deadline = min(time.monotonic() + check.link_seconds, check.deadline)
    try:
        status = _follow(url, "HEAD", check, deadline)
        if status in _HEAD_REFUSED:
            status = _follow(url, "GET", check, deadline)
    except _Stop as stop:
        return stop.verdict
    except socket.gaierror:
        return _Verdict(BROKEN, NO_SUCH_NAME)
    except ssl.SSLCertVerificationError as exc:
        return _Verdict(BROKEN, f"its TLS certificate is not accepted ({exc.verify_message})")
    except (OSError, http.client.HTTPException):
        # Refused, silent, reset, not TLS, not HTTP: all read the same.
        if time.monotonic() >= check.deadline:
            return _Verdict(NOT_CHECKED, OUT_OF_TIME)
        return _Verdict(BROKEN, NO_ANSWER)
    except ValueError:  # a malformed address or port, a name IDNA cannot encode
        return _Verdict(BROKEN, "not a valid address")
    if status < 400:
        return _Verdict(WORKS)
    return _Verdict(BROKEN, _status(status))


def _follow(url: str, method: str, check: _Check, deadline: float) -> int:
    """The status `url` finally answers `method` with, after at most MAX_REDIRECTS redirects,
    each to an http(s) address on an allowed host like the first."""
    for hop in range(MAX_REDIRECTS + 1):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise _Stop(_Verdict(NOT_CHECKED, _REFUSALS["scheme", bool(hop)]))
        addresses = check.resolve(parts.hostname)
        if not addresses:
            raise socket.gaierror(f"{parts.hostname} has no address")
        if not all(check.policy.allows(address) for address in addresses):
            raise _Stop(_Verdict(NOT_CHECKED, _REFUSALS["address", bool(hop)]))
        reply = ask(
            method, parts, addresses, tls=check.tls, timeout=check.timeout, deadline=deadline
        )
        if reply.status not in _REDIRECTS or not reply.location:
            return reply.status
        url = urljoin(url, reply.location)
    raise _Stop(_Verdict(BROKEN, f"more than {MAX_REDIRECTS} redirects"))


def _status(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP status {status}"
