"""One settings object, read from the environment and validated before anything starts."""

from __future__ import annotations

import hashlib
import os
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.utils import parseaddr
from pathlib import Path
from types import MappingProxyType
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from broadsheet.bounces.mailbox import parse_mailbox_url
from broadsheet.bounces.sns import is_topic_arn
from broadsheet.errors import ConfigError
from broadsheet.mail.dkim import is_selector, load_private_key
from broadsheet.relays import SmtpTarget, parse_domain_rates, parse_smtp_url, parse_smtp_urls

__all__ = ["ConfigError", "Settings", "SmtpTarget", "load_settings", "parse_smtp_url"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    """Everything Broadsheet reads from its environment; see docs/configuration.md."""

    instance_path: Path
    database_url: str
    redis_url: str
    smtp_url: str
    relays: tuple[SmtpTarget, ...]  # at least one; the first also carries confirmations
    secret_key: str = field(repr=False)
    public_url: str
    port: int
    mail_from: str
    send_rate: float
    batch_size: int
    embedded_redis: bool
    embedded_smtp: bool
    catcher_port: int = 8025
    retry_delays: tuple[int, ...] = (30, 60, 300, 900, 3600)
    retry_max_age: int = 24 * 3600
    pause_failure_rate: float = 0.05
    pause_after_attempts: int = 200
    smtp_timeout: float = 30.0
    claim_lease: int = 15
    stall_after: int = 120
    tick_seconds: float = 5.0
    # Added to a worker's niceness as it starts: on a machine it shares with the web, a send
    # takes the CPU the readers' pages leave, not theirs (0: the worker's own priority).
    worker_nice: int = 10
    dkim_private_key: str | None = field(default=None, repr=False)  # PEM text; None: no DKIM
    dkim_selector: str | None = None
    dkim_domain: str | None = None
    # Where bounce and complaint reports arrive (imap://, pop3://, maildir://); None: not read.
    bounce_mailbox_url: str | None = field(default=None, repr=False)
    domain_rates: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    # After a throttling reply halves a rate, the seconds it takes to climb back to full.
    rate_recovery: float = 300.0
    # Soft bounces for this many campaigns within `soft_bounce_days` bounce a reader (0: never).
    soft_bounce_limit: int = 3
    soft_bounce_days: int = 30
    # The SNS topics whose SES notifications the webhook accepts; empty: it accepts none.
    ses_topic_arns: tuple[str, ...] = ()
    # The IANA zone whose days the admin's overview counts in (signups per day, ...).
    timezone: str = "UTC"
    # Opens and clicks (docs/configuration.md): the default of new campaigns' switch, and
    # privacy mode, which keeps counts per campaign and link only, nothing per reader.
    tracking: bool = True
    tracking_privacy: bool = False
    # Whether each admin account gets an email when a campaign is sent or pauses itself.
    notify_admins: bool = True
    # When set, GET /metrics asks for `Authorization: Bearer <token>` (None: open).
    metrics_token: str | None = field(default=None, repr=False)
    log_format: str = "text"  # "text" or "json" (one JSON object a line)
    # Feeds whose new entries become articles and campaigns (docs/feeds.md): the ones added at
    # each poll, how often beat polls them, and the bounds of one fetch.
    feed_urls: tuple[str, ...] = ()
    feed_poll_seconds: int = 900
    feed_timeout: float = 20.0
    feed_max_bytes: int = 5 * 1024 * 1024
    # On a feed's first poll, older entries are only recorded as seen (no mail for a backlog).
    feed_max_age: int = 2 * 24 * 3600
    # The largest CSV file the admin's "Import readers" takes (kept in the database until
    # the import is done).
    import_max_bytes: int = 50 * 1024 * 1024
    # How many reverse proxies stand in front of the web app, each adding to X-Forwarded-For
    # (0: none, the header is ignored); the client address is the one the outermost saw.
    trusted_proxies: int = 0

    @property
    def smtp(self) -> SmtpTarget:
        """The first relay: the one confirmations and single messages go through."""
        return self.relays[0]

    @property
    def redis_socket(self) -> Path:
        """Unix socket of the bundled Redis server (used only when `REDIS_URL` is unset)."""
        return embedded_redis_socket(self.instance_path)

    @property
    def maildir(self) -> Path:
        """Maildir the local SMTP catcher writes into (used only when `SMTP_URL` is unset)."""
        return self.instance_path / "mail"


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build settings from `environ` (default: the process environment); raise ConfigError."""
    env = dict(os.environ if environ is None else environ)
    instance = Path(env.get("BROADSHEET_INSTANCE") or PROJECT_ROOT / "instance").resolve()
    port = _int(env, "PORT", 5000, minimum=1, maximum=65535)
    embedded_redis = not env.get("REDIS_URL")
    embedded_smtp = not env.get("SMTP_URL")
    redis_url = env.get("REDIS_URL") or f"unix://{embedded_redis_socket(instance)}"
    catcher_port = _int(env, "CATCHER_PORT", 8025, minimum=1, maximum=65535)
    smtp_url = env.get("SMTP_URL") or f"smtp://127.0.0.1:{catcher_port}"
    mail_from = _mail_from(env.get("MAIL_FROM") or "Broadsheet <newsletter@localhost>")
    dkim_key, dkim_selector, dkim_domain = _dkim(env, mail_from)
    return Settings(
        instance_path=instance,
        database_url=_database_url(env, instance),
        redis_url=_redis_url(redis_url),
        smtp_url=smtp_url,
        relays=parse_smtp_urls(smtp_url),
        secret_key=env.get("SECRET_KEY") or _stored_secret(instance),
        public_url=_public_url(env.get("PUBLIC_URL") or f"http://127.0.0.1:{port}"),
        port=port,
        mail_from=mail_from,
        send_rate=_float(env, "SEND_RATE", 20.0),
        batch_size=_int(env, "BATCH_SIZE", 100, minimum=1, maximum=10_000),
        embedded_redis=embedded_redis,
        embedded_smtp=embedded_smtp,
        catcher_port=catcher_port,
        retry_delays=_delays(env, "RETRY_DELAYS", (30, 60, 300, 900, 3600)),
        retry_max_age=_int(env, "RETRY_MAX_AGE", 24 * 3600, minimum=1, maximum=30 * 24 * 3600),
        pause_failure_rate=_float(env, "PAUSE_FAILURE_RATE", 0.05, maximum=1),
        pause_after_attempts=_int(env, "PAUSE_AFTER_ATTEMPTS", 200, minimum=1, maximum=10**9),
        smtp_timeout=_float(env, "SMTP_TIMEOUT", 30.0),
        claim_lease=_int(env, "CLAIM_LEASE", 15, minimum=2, maximum=86_400),
        stall_after=_int(env, "STALL_AFTER", 120, minimum=2, maximum=86_400),
        tick_seconds=_float(env, "TICK_SECONDS", 5.0),
        worker_nice=_int(env, "WORKER_NICE", 10, minimum=0, maximum=19),
        dkim_private_key=dkim_key,
        dkim_selector=dkim_selector,
        dkim_domain=dkim_domain,
        bounce_mailbox_url=_bounce_mailbox_url(env),
        domain_rates=MappingProxyType(parse_domain_rates(env.get("DOMAIN_RATES", ""))),
        rate_recovery=_float(env, "RATE_RECOVERY", 300.0, maximum=86_400),
        soft_bounce_limit=_int(env, "SOFT_BOUNCE_LIMIT", 3, minimum=0, maximum=1000),
        soft_bounce_days=_int(env, "SOFT_BOUNCE_DAYS", 30, minimum=1, maximum=3650),
        ses_topic_arns=_topic_arns(env, "SES_TOPIC_ARNS"),
        timezone=_timezone(env),
        tracking=_switch(env, "TRACKING", True),
        tracking_privacy=_switch(env, "TRACKING_PRIVACY", False),
        notify_admins=_switch(env, "NOTIFY_ADMINS", True),
        metrics_token=env.get("METRICS_TOKEN", "").strip() or None,
        log_format=_choice(env, "LOG_FORMAT", ("text", "json")),
        feed_urls=_feed_urls(env, "FEED_URLS"),
        feed_poll_seconds=_int(env, "FEED_POLL_SECONDS", 900, minimum=60, maximum=7 * 86_400),
        feed_timeout=_float(env, "FEED_TIMEOUT", 20.0, maximum=300),
        feed_max_bytes=_int(env, "FEED_MAX_BYTES", 5 * 1024 * 1024, minimum=1024, maximum=10**9),
        feed_max_age=_int(env, "FEED_MAX_AGE", 2 * 24 * 3600, minimum=0, maximum=3650 * 86_400),
        import_max_bytes=_int(
            env, "IMPORT_MAX_BYTES", 50 * 1024 * 1024, minimum=1024, maximum=1024**3
        ),
        trusted_proxies=_int(env, "TRUSTED_PROXIES", 0, minimum=0, maximum=10),
    )


def embedded_redis_socket(instance: Path) -> Path:
    """The bundled Redis's socket: under the instance folder, unless that path is too long for
    a Unix socket (about 107 bytes), then a per-instance name in the temp folder."""
    path = instance / "redis.sock"
    if len(str(path)) <= 100:
        return path
    digest = hashlib.sha256(str(instance).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"broadsheet-{digest}.sock"


def _database_url(env: Mapping[str, str], instance: Path) -> str:
    url = env.get("DATABASE_URL") or f"sqlite:///{instance / 'broadsheet.db'}"
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if not url.startswith(("sqlite:", "postgresql+")):
        raise ConfigError("DATABASE_URL", f"must be a sqlite:// or postgresql:// URL: {url!r}")
    return url


def _redis_url(url: str) -> str:
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError("REDIS_URL", f"must start with redis://, rediss:// or unix://: {url!r}")
    return url


def _public_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError("PUBLIC_URL", f"must be an absolute http(s) URL: {url!r}")
    return url.rstrip("/")


def _mail_from(value: str) -> str:
    name, addr = parseaddr(value)
    if "@" not in addr or any(c in value for c in "\r\n"):
        raise ConfigError(
            "MAIL_FROM", f"must be an address such as 'Name <news@example.org>': {value!r}"
        )
    local, domain = addr.rsplit("@", 1)
    return str(Address(display_name=name, username=local, domain=domain))


def _dkim(env: Mapping[str, str], mail_from: str) -> tuple[str | None, str | None, str | None]:
    """The DKIM key as PEM text, selector and domain; all None when no DKIM variable is set."""
    raw = env.get("DKIM_PRIVATE_KEY", "").strip()
    selector = env.get("DKIM_SELECTOR", "").strip().lower()
    domain = env.get("DKIM_DOMAIN", "").strip().lower()
    if not raw:
        if selector or domain:
            raise ConfigError("DKIM_PRIVATE_KEY", "must be set when DKIM_SELECTOR/DKIM_DOMAIN is")
        return None, None, None
    pem = raw if "-----BEGIN" in raw else _read_key_file(raw)
    if "\n" not in pem.strip():
        pem = pem.replace("\\n", "\n")  # a PEM kept on one line with \n, as .env files need
    pem = pem.strip() + "\n"
    try:
        load_private_key(pem)
    except ValueError as exc:
        raise ConfigError("DKIM_PRIVATE_KEY", str(exc)) from exc
    if not selector:
        raise ConfigError("DKIM_SELECTOR", "must be set when DKIM_PRIVATE_KEY is")
    if not is_selector(selector):
        raise ConfigError("DKIM_SELECTOR", f"must be DNS labels such as 'news2025': {selector!r}")
    domain = domain or parseaddr(mail_from)[1].rpartition("@")[2].lower()
    if not is_selector(domain):
        raise ConfigError(
            "DKIM_DOMAIN",
            f"must be a domain such as 'example.org' (default: MAIL_FROM's): {domain!r}",
        )
    return pem, selector, domain


def _read_key_file(path: str) -> str:
    try:
        return Path(path).expanduser().read_text()
    except (OSError, UnicodeDecodeError) as exc:
        # Never echo a long value: it may be key material pasted without its PEM armour.
        shown = repr(path) if len(path) <= 200 else "(a value too long to be a path)"
        reason = getattr(exc, "strerror", None) or "not a PEM text file"
        raise ConfigError(
            "DKIM_PRIVATE_KEY", f"neither PEM text nor a readable key file {shown}: {reason}"
        ) from exc


def _bounce_mailbox_url(env: Mapping[str, str]) -> str | None:
    url = env.get("BOUNCE_MAILBOX_URL", "").strip()
    if url:
        parse_mailbox_url(url)  # a ConfigError naming BOUNCE_MAILBOX_URL when malformed
    return url or None


def _topic_arns(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """SNS topic ARNs separated by commas, e.g. `arn:aws:sns:eu-west-1:123456789012:bounces`."""
    arns = tuple(dict.fromkeys(part.strip() for part in env.get(name, "").split(",")))
    arns = tuple(arn for arn in arns if arn)
    for arn in arns:
        if not is_topic_arn(arn):
            raise ConfigError(
                name,
                f"must be SNS topic ARNs such as 'arn:aws:sns:<region>:<account>:<topic>', "
                f"separated by commas: {arn!r}",
            )
    return arns


def _feed_urls(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """Absolute http(s) URLs separated by commas, each once."""
    urls = tuple(dict.fromkeys(part.strip() for part in env.get(name, "").split(",")))
    for url in (url for url in urls if url):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 2000:
            raise ConfigError(
                name, f"must be absolute http(s) URLs separated by commas, got {url!r}"
            )
    return tuple(url for url in urls if url)


def _timezone(env: Mapping[str, str]) -> str:
    """An IANA zone name such as `Europe/Paris` (default UTC), checked against the zone data."""
    name = env.get("TIMEZONE", "").strip() or "UTC"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            "TIMEZONE", f"must be an IANA time zone such as Europe/Paris, got {name!r}"
        ) from None
    return name


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int, maximum: int) -> int:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(name, f"must be a whole number, got {raw!r}") from exc
    if not minimum <= value <= maximum:
        raise ConfigError(name, f"must be between {minimum} and {maximum}, got {value}")
    return value


def _float(
    env: Mapping[str, str], name: str, default: float, *, maximum: float = 1_000_000
) -> float:
    """A number above 0 and at most `maximum`."""
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError(name, f"must be a number, got {raw!r}") from exc
    if not 0 < value <= maximum:
        raise ConfigError(name, f"must be greater than 0 and at most {maximum:g}, got {raw!r}")
    return value


def _switch(env: Mapping[str, str], name: str, default: bool) -> bool:
    """`on` or `off` (also true/false, yes/no, 1/0); unset or empty: `default`."""
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("on", "true", "yes", "1"):
        return True
    if raw in ("off", "false", "no", "0"):
        return False
    raise ConfigError(name, f"must be on or off, got {env[name]!r}")


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    """One of `choices` (any case); the first when unset."""
    raw = env.get(name, "").strip().lower()
    if not raw:
        return choices[0]
    if raw not in choices:
        raise ConfigError(name, f"must be one of {', '.join(choices)}, got {raw!r}")
    return raw


def _delays(env: Mapping[str, str], name: str, default: tuple[int, ...]) -> tuple[int, ...]:
    """Seconds before each retry, e.g. `30,60,300`; at most a day each (the broker must hold
    a retried task that long, see worker/app.py)."""
    raw = env.get(name)
    if not raw:
        return default
    try:
        delays = tuple(int(part) for part in raw.split(","))
    except ValueError as exc:
        raise ConfigError(name, f"must be whole seconds separated by commas, got {raw!r}") from exc
    if not all(0 < d <= 86_400 for d in delays):
        raise ConfigError(name, f"each delay must be between 1 and 86400 seconds, got {raw!r}")
    return delays


def _stored_secret(instance: Path) -> str:
    """Generate the secret key once and keep it under the instance folder (mode 0600)."""
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key
