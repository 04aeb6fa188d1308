"""A feed fetched over the network: one conditional GET (If-None-Match, If-Modified-Since),
redirects followed, within FEED_TIMEOUT and FEED_MAX_BYTES.

Addresses go through the link check's guard (worker/link_policy.py) before connecting and
after every redirect, and the request goes to the addresses checked (worker/link_http.py): a
feed's address cannot make the worker ask this host or its private network anything.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from http import HTTPStatus
from urllib.parse import urljoin, urlsplit

from broadsheet.feeds.fetched import NOT_MODIFIED, FeedUnavailable, Fetched, FetchRequest
from worker.link_http import TooLarge, get, tls_context
from worker.link_policy import PUBLIC_ONLY, AddressPolicy, Resolver, system_resolver

USER_AGENT = "Broadsheet feed reader"
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1"
)
MAX_REDIRECTS = 5
_REDIRECTS = (301, 302, 303, 307, 308)


def fetch_feed(
    request: FetchRequest,
    *,
    timeout: float,
    max_bytes: int,
    policy: AddressPolicy = PUBLIC_ONLY,
    resolve: Resolver = system_resolver,
) -> Fetched:
    """The feed's answer (200 with its body, or 304), all of it within `timeout` seconds;
    FeedUnavailable saying why otherwise. `policy` and `resolve` as for the link check:
    production keeps the defaults, tests allow their server on 127.0.0.1."""
    headers = {"User-Agent": USER_AGENT, "Accept": ACCEPT}
    if request.etag:
        headers["If-None-Match"] = request.etag
    if request.last_modified:
        headers["If-Modified-Since"] = request.last_modified
    deadline = time.monotonic() + timeout
    url = request.url
    try:
        for _ in range(MAX_REDIRECTS + 1):
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise FeedUnavailable(f"not a web address: {url}")
            addresses = resolve(parts.hostname)
            if not addresses:
                raise socket.gaierror(f"{parts.hostname} has no address")
            if not all(policy.allows(address) for address in addresses):
                raise FeedUnavailable(f"the address of {parts.hostname} is internal")
            page = get(
                parts, addresses, tls=tls_context(), timeout=timeout, deadline=deadline,
                headers=headers, max_bytes=max_bytes,
            )  # fmt: skip
            location = page.headers.get("location")
            if page.status in _REDIRECTS and location:
                url = urljoin(url, location)
                continue
            if page.status == NOT_MODIFIED:
                return Fetched(NOT_MODIFIED, url=url)
            if page.status != HTTPStatus.OK:
                raise FeedUnavailable(f"the server answered {_status(page.status)}")
            return Fetched(
                HTTPStatus.OK,
                page.body,
                content_type=page.headers.get("content-type"),
                etag=page.headers.get("etag"),
                last_modified=page.headers.get("last-modified"),
                url=url,
            )
        raise FeedUnavailable(f"more than {MAX_REDIRECTS} redirects")
    except TooLarge as exc:
        raise FeedUnavailable(f"the feed is larger than {max_bytes} bytes ({exc})") from exc
    except socket.gaierror as exc:
        raise FeedUnavailable("the name does not resolve") from exc
    except ssl.SSLCertVerificationError as exc:
        reason = f"its TLS certificate is not accepted ({exc.verify_message})"
        raise FeedUnavailable(reason) from exc
    except TimeoutError as exc:
        raise FeedUnavailable(f"no complete answer within {timeout:g} s") from exc
    except (OSError, http.client.HTTPException) as exc:
        raise FeedUnavailable(f"no answer ({type(exc).__name__}: {exc})") from exc
    except ValueError as exc:  # a malformed address or port
        raise FeedUnavailable(f"not a valid address ({exc})") from exc


def _status(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP status {status}"
