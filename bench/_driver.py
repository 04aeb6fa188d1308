"""Open-loop signups over raw HTTP: POST the form with a fresh address, a new connection per
request, each from its own loopback address (127.1.0.1, 127.1.0.2, ...), as readers behind
different NATs would: the signup limits count per client address, and one address sending
hundreds a second would meet them. The form (its CSRF token and session
cookie) is fetched and parsed once per client session: `sessions` of them are opened before
the clock starts, and signup i posts through session i mod `sessions`, so the driver spends
its CPU on the signups, not on parsing pages. `sessions=0` fetches the form for every
signup instead (GET then POST, both timed).

Open loop: signup i starts at `start + i / rate` whatever happened to the ones before, so a slow
server meets a growing queue instead of a politely waiting client. Latency of a whole signup is
counted from its *scheduled* start (any lag of this driver is included, never hidden).
"""

from __future__ import annotations

import asyncio
import math
import re
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

_CSRF = re.compile(rb'name="csrf_token" value="([^"]+)"')
_COOKIE = re.compile(rb"(?im)^set-cookie:\s*(session=[^;\r\n]*)")


@dataclass
class Signup:
    email: str
    scheduled: float
    source: str  # the loopback address this reader connects from
    lag: float = math.nan  # actual start - scheduled start
    total: float | None = None  # scheduled start -> POST answered, for completed signups
    post: float | None = None  # POST sent -> POST answered
    failure: str | None = None  # "GET 503", "POST 400", "timeout", "ConnectionResetError", ...
    answered: float = math.nan  # time.monotonic() when the POST was answered


@dataclass
class Load:
    rate: float
    seconds: float
    signups: list[Signup] = field(default_factory=list)
    elapsed: float = 0.0  # first scheduled start -> last answer

    @property
    def completed(self) -> list[Signup]:
        return [s for s in self.signups if s.failure is None]

    def failures(self) -> Counter[str]:
        return Counter(s.failure for s in self.signups if s.failure is not None)


class _Refused(Exception):
    pass


async def drive(
    host: str,
    port: int,
    *,
    rate: float,
    seconds: float,
    prefix: str,
    in_flight: int = 512,
    timeout: float = 10.0,
    sessions: int = 64,
) -> Load:
    """Run `rate * seconds` signups at a fixed arrival rate, addresses `<prefix>-<i>@...`."""
    forms = [await _form(host, port) for _ in range(sessions)]
    gate = asyncio.Semaphore(in_flight)
    load = Load(rate, seconds)

    def start_one(i: int, at: float) -> Coroutine[Any, Any, None]:
        signup = Signup(f"{prefix}-{i}@example.org", scheduled=at, source=_reader_address(i))
        load.signups.append(signup)
        form = forms[i % sessions] if forms else None
        return _signup(host, port, signup, form, gate, timeout)

    load.elapsed = await open_loop(rate, seconds, start_one)
    return load


async def open_loop(
    rate: float, seconds: float, start_one: Callable[[int, float], Coroutine[Any, Any, None]]
) -> float:
    """Run `start_one(i, at)` for i in 0 .. rate * seconds, each as a task started at its
    scheduled time `at` (the event loop's clock), whatever became of the ones before; wait for
    them all. Returns the seconds from the first scheduled start to the last one's end."""
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.05
    tasks = []
    for i in range(round(rate * seconds)):
        at = start + i / rate
        delay = at - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(start_one(i, at)))
    await asyncio.gather(*tasks)
    return loop.time() - start


async def _form(host: str, port: int) -> tuple[str, bytes]:
    """A client session: the form's CSRF token and the session cookie it goes with."""
    status, head, body = await _request(host, port, _get(host, port))
    token, cookie = _CSRF.search(body), _COOKIE.search(head)
    if status != 200 or token is None or cookie is None:
        raise RuntimeError(f"GET /subscribe gave {status} without a form to post")
    return token.group(1).decode(), cookie.group(1)


async def _signup(
    host: str,
    port: int,
    signup: Signup,
    form: tuple[str, bytes] | None,
    gate: asyncio.Semaphore,
    timeout: float,
) -> None:
    loop = asyncio.get_running_loop()
    async with gate:
        signup.lag = loop.time() - signup.scheduled
        try:
            async with asyncio.timeout(timeout):
                if form is None:
                    status, head, body = await _request(host, port, _get(host, port))
                    if status != 200:
                        raise _Refused(f"GET {status}")
                    token, cookie = _CSRF.search(body), _COOKIE.search(head)
                    if token is None or cookie is None:
                        raise _Refused("GET without csrf_token or session cookie")
                    form = (token.group(1).decode(), cookie.group(1))
                fields = {"csrf_token": form[0], "email": signup.email, "name": "Bench Reader"}
                posted = loop.time()
                status, _, body = await _request(
                    host,
                    port,
                    _post(host, port, urlencode(fields).encode(), form[1]),
                    source=signup.source,
                )
                if status != 200 or b"Check your inbox" not in body:
                    raise _Refused(f"POST {status}")
                done = loop.time()
        except _Refused as exc:
            signup.failure = str(exc)
            return
        except TimeoutError:
            signup.failure = "timeout"
            return
        except (OSError, ValueError, IndexError) as exc:
            signup.failure = type(exc).__name__
            return
        signup.total, signup.post, signup.answered = done - signup.scheduled, done - posted, done


def _get(host: str, port: int) -> bytes:
    return (
        f"GET /subscribe HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: broadsheet-bench\r\n"
        "Connection: close\r\n\r\n"
    ).encode()


def _post(host: str, port: int, form: bytes, cookie: bytes) -> bytes:
    head = (
        f"POST /subscribe HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: broadsheet-bench\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(form)}\r\nConnection: close\r\nCookie: "
    ).encode()
    return head + cookie + b"\r\n\r\n" + form


def _reader_address(i: int) -> str:
    """Signup i's own source address in 127.0.0.0/8 (62,500 of them before one repeats)."""
    return f"127.1.{i // 250 % 250}.{i % 250 + 1}"


async def _request(
    host: str, port: int, request: bytes, source: str | None = None
) -> tuple[int, bytes, bytes]:
    """Send one request on a new connection (from `source`, when given); the server closes it
    after the answer."""
    local = (source, 0) if source is not None else None
    reader, writer = await asyncio.open_connection(host, port, local_addr=local)
    try:
        writer.write(request)
        data = await reader.read()
    finally:
        writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), head, body


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of unsorted values; NaN when there are none."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]
