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
from urllib.parse import urlsplit

from broadsheet.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SMTP_SCHEMES = ("smtp", "smtp+starttls", "smtps")


@dataclass(frozen=True)
class SmtpTarget:
    """Where mail goes: host, port, TLS mode and optional credentials, parsed from `SMTP_URL`."""

    scheme: str
    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def implicit_tls(self) -> bool:
        return self.scheme == "smtps"

    @property
    def starttls(self) -> bool:
        return self.scheme == "smtp+starttls"


@dataclass(frozen=True)
class Settings:
    """Everything Broadsheet reads from its environment; see README's configuration table."""

    instance_path: Path
    database_url: str
    redis_url: str
    smtp_url: str
    smtp: SmtpTarget
    secret_key: str = field(repr=False)
    public_url: str
    port: int
    mail_from: str
    send_rate: float
    batch_size: int
    embedded_redis: bool
    embedded_smtp: bool
    catcher_port: int = 8025

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
    return Settings(
        instance_path=instance,
        database_url=_database_url(env, instance),
        redis_url=_redis_url(redis_url),
        smtp_url=smtp_url,
        smtp=parse_smtp_url(smtp_url),
        secret_key=env.get("SECRET_KEY") or _stored_secret(instance),
        public_url=_public_url(env.get("PUBLIC_URL") or f"http://127.0.0.1:{port}"),
        port=port,
        mail_from=_mail_from(env.get("MAIL_FROM") or "Broadsheet <newsletter@localhost>"),
        send_rate=_float(env, "SEND_RATE", 20.0),
        batch_size=_int(env, "BATCH_SIZE", 100, minimum=1, maximum=10_000),
        embedded_redis=embedded_redis,
        embedded_smtp=embedded_smtp,
        catcher_port=catcher_port,
    )


def embedded_redis_socket(instance: Path) -> Path:
    """The bundled Redis's socket: under the instance folder, unless that path is too long for
    a Unix socket (about 107 bytes), then a per-instance name in the temp folder."""
    path = instance / "redis.sock"
    if len(str(path)) <= 100:
        return path
    digest = hashlib.sha256(str(instance).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"broadsheet-{digest}.sock"


def parse_smtp_url(url: str) -> SmtpTarget:
    """Parse `smtp://[user:pass@]host:port` (or `smtp+starttls://`, `smtps://`)."""
    parts = urlsplit(url)
    if parts.scheme not in SMTP_SCHEMES:
        raise ConfigError("SMTP_URL", f"scheme must be one of {', '.join(SMTP_SCHEMES)}: {url!r}")
    if not parts.hostname:
        raise ConfigError("SMTP_URL", f"no host in {url!r}")
    try:
        port = parts.port or (465 if parts.scheme == "smtps" else 25)
    except ValueError as exc:
        raise ConfigError("SMTP_URL", f"bad port in {url!r}") from exc
    return SmtpTarget(parts.scheme, parts.hostname, port, parts.username, parts.password)


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


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError(name, f"must be a number, got {raw!r}") from exc
    if not 0 < value <= 1_000_000:
        raise ConfigError(name, f"must be greater than 0, got {raw!r}")
    return value


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
