"""Where mail goes and how fast: the relays of `SMTP_URL` and the limits of `DOMAIN_RATES`.

`SMTP_URL` names one relay or several, separated by spaces or commas. Each may carry its own
limits as query parameters: `rate` (messages per second through that relay; default: only the
global `SEND_RATE` applies) and `connections` (how many connections all workers together may
hold open to it; default 10):

    SMTP_URL="smtp://mx1.example.org:25?rate=100 smtps://user:pw@mx2.example.org?connections=4"

`DOMAIN_RATES="gmail.com=20,yahoo.com=10"` caps messages per second to readers at a domain,
whichever relay carries them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

from broadsheet.errors import ConfigError

SMTP_SCHEMES = ("smtp", "smtp+starttls", "smtps")
DEFAULT_CONNECTIONS = 10
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


@dataclass(frozen=True)
class SmtpTarget:
    """One relay: host, port, TLS mode, credentials and its own limits."""

    scheme: str
    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    rate: float | None = None  # messages/s through this relay; None: only SEND_RATE applies
    connections: int = DEFAULT_CONNECTIONS  # open connections, summed over every worker

    @property
    def implicit_tls(self) -> bool:
        return self.scheme == "smtps"

    @property
    def starttls(self) -> bool:
        return self.scheme == "smtp+starttls"

    @property
    def name(self) -> str:
        """How logs, Redis keys and the API name this relay."""
        return f"{self.host}:{self.port}"


def parse_smtp_urls(value: str) -> tuple[SmtpTarget, ...]:
    """Every relay of `SMTP_URL`, in the order given; names must be distinct."""
    urls = [part for part in re.split(r"[\s,]+", value.strip()) if part]
    if not urls:
        raise ConfigError("SMTP_URL", "names no relay")
    relays = tuple(parse_smtp_url(url) for url in urls)
    names = [relay.name for relay in relays]
    if len(set(names)) != len(names):
        raise ConfigError("SMTP_URL", f"lists a relay twice: {', '.join(names)}")
    return relays


def parse_smtp_url(url: str) -> SmtpTarget:
    """Parse `smtp://[user:pass@]host:port[?rate=N&connections=N]` (or `smtp+starttls://`,
    `smtps://`)."""
    parts = urlsplit(url)
    shown = _without_password(url)
    if parts.scheme not in SMTP_SCHEMES:
        raise ConfigError("SMTP_URL", f"scheme must be one of {', '.join(SMTP_SCHEMES)}: {shown!r}")
    if not parts.hostname:
        raise ConfigError("SMTP_URL", f"no host in {shown!r}")
    try:
        port = parts.port or (465 if parts.scheme == "smtps" else 25)
    except ValueError as exc:
        raise ConfigError("SMTP_URL", f"bad port in {shown!r}") from exc
    limits = _limits(parts.query, shown)
    return SmtpTarget(
        parts.scheme,
        parts.hostname,
        port,
        unquote(parts.username) if parts.username else None,
        unquote(parts.password) if parts.password else None,
        rate=limits.get("rate"),
        connections=int(limits.get("connections", DEFAULT_CONNECTIONS)),
    )


def parse_domain_rates(value: str) -> Mapping[str, float]:
    """`gmail.com=20,yahoo.com=10` → {"gmail.com": 20.0, "yahoo.com": 10.0}."""
    rates: dict[str, float] = {}
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        domain, sep, raw = item.partition("=")
        domain = domain.strip().lower()
        if not sep or not _DOMAIN.match(domain):
            raise ConfigError(
                "DOMAIN_RATES", f"each entry must be domain=rate, such as gmail.com=20: {item!r}"
            )
        if domain in rates:
            raise ConfigError("DOMAIN_RATES", f"lists {domain} twice")
        rates[domain] = _positive("DOMAIN_RATES", raw.strip(), f"the rate for {domain}")
    return rates


def _limits(query: str, shown: str) -> dict[str, float]:
    try:
        params = parse_qs(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError as exc:
        raise ConfigError("SMTP_URL", f"bad parameters in {shown!r}") from exc
    unknown = set(params) - {"rate", "connections"}
    if unknown:
        raise ConfigError(
            "SMTP_URL",
            f"unknown parameter {sorted(unknown)[0]!r} in {shown!r} (known: rate, connections)",
        )
    limits: dict[str, float] = {}
    if "rate" in params:
        limits["rate"] = _positive("SMTP_URL", params["rate"][-1], f"rate in {shown!r}")
    if "connections" in params:
        raw = params["connections"][-1]
        if not raw.isdigit() or not 1 <= int(raw) <= 1000:
            raise ConfigError(
                "SMTP_URL", f"connections must be a whole number from 1 to 1000 in {shown!r}"
            )
        limits["connections"] = int(raw)
    return limits


def _positive(variable: str, raw: str, what: str) -> float:
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError(variable, f"{what} must be a number, got {raw!r}") from exc
    if not 0 < value <= 1_000_000:
        raise ConfigError(variable, f"{what} must be greater than 0 and at most 1000000")
    return value


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)
