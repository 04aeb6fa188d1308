"""Probes for a load balancer or an orchestrator: GET /healthz (this process answers) and
GET /readyz (the database, Redis and every relay answer, each within CHECK_TIMEOUT, all
checked at once so the answer comes within about that time).

/readyz answers 200 with each part's state as JSON, or 503 naming the parts that failed.
Neither needs signing in, and neither says more than a part's state and error.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from functools import partial

import redis
from flask import Blueprint, Flask, Response, current_app, jsonify
from sqlalchemy import Engine

from broadsheet.relays import SmtpTarget
from broadsheet.settings import Settings

bp = Blueprint("probes", __name__)

CHECK_TIMEOUT = 1.0  # seconds, for each part
_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="readyz")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


@bp.get("/healthz")
def healthz() -> Response:
    return Response("ok\n", mimetype="text/plain")


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    settings: Settings = current_app.config["BROADSHEET"]
    engine: Engine = current_app.extensions["broadsheet.engine"]
    checks: dict[str, Callable[[], None]] = {
        "database": lambda: _database(engine),
        "redis": lambda: _redis(settings.redis_url),
    }
    for relay in settings.relays:
        checks[f"relay {relay.name}"] = partial(_relay, relay)
    futures = {name: _pool.submit(check) for name, check in checks.items()}
    wait(futures.values(), timeout=CHECK_TIMEOUT + 0.5)
    parts: dict[str, dict[str, str]] = {}
    for name, future in futures.items():
        if not future.done():
            parts[name] = {"state": "failing", "error": f"no answer within {CHECK_TIMEOUT:g} s"}
        elif (exc := future.exception()) is not None:
            parts[name] = {"state": "failing", "error": str(exc) or type(exc).__name__}
        else:
            parts[name] = {"state": "ok"}
    failing = [name for name, part in parts.items() if part["state"] != "ok"]
    body = {"status": "failing" if failing else "ready", "failing": failing, "parts": parts}
    return jsonify(body), 503 if failing else 200


def _database(engine: Engine) -> None:
    """SELECT 1 on a pooled driver connection: no transaction of the engine's, so on SQLite
    it does not queue behind writers (broadsheet/db.py) for a lock it does not need."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("SELECT 1")
        cursor.fetchall()
        cursor.close()
    finally:
        raw.close()


def _redis(url: str) -> None:
    client = redis.Redis.from_url(
        url, socket_timeout=CHECK_TIMEOUT, socket_connect_timeout=CHECK_TIMEOUT
    )
    try:
        client.ping()
    finally:
        client.close()


def _relay(relay: SmtpTarget) -> None:
    """A TCP connection and the relay's 220 greeting (through TLS for an smtps relay)."""
    with socket.create_connection((relay.host, relay.port), timeout=CHECK_TIMEOUT) as raw:
        conn: socket.socket = raw
        if relay.implicit_tls:
            conn = ssl.create_default_context().wrap_socket(raw, server_hostname=relay.host)
        banner = conn.recv(512).decode("latin-1", "replace")
        if not banner.startswith("220"):
            raise ConnectionError(f"greeted with {banner.strip()[:200]!r}, not 220")
        conn.sendall(b"QUIT\r\n")
