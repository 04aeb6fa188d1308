"""/healthz and /readyz: the process answers; the database, Redis and every relay answer,
or a 503 names the part that does not (a relay here; Redis stopped and started:
tests/e2e/test_probes.py)."""

from __future__ import annotations

from dataclasses import replace

from broadsheet.relays import parse_smtp_urls
from tests.support.smtp import free_port
from web.app import create_app, dispose


def test_healthz_needs_nothing_but_the_process(client):
    response = client.get("/healthz")
    assert (response.status_code, response.text) == (200, "ok\n")


def test_readyz_names_each_part(client, settings):
    response = client.get("/readyz")
    assert response.status_code == 200, response.json
    body = response.json
    assert body["status"] == "ready" and body["failing"] == []
    assert set(body["parts"]) == {"database", "redis", f"relay {settings.smtp.name}"}
    assert all(part == {"state": "ok"} for part in body["parts"].values())


def test_readyz_names_a_relay_that_refuses(settings):
    closed = free_port()  # nothing listens there
    relays = parse_smtp_urls(f"{settings.smtp_url},smtp://127.0.0.1:{closed}")
    app = create_app(replace(settings, relays=relays))
    try:
        response = app.test_client().get("/readyz")
    finally:
        dispose(app)
    assert response.status_code == 503
    body = response.get_json()
    assert body["failing"] == [f"relay 127.0.0.1:{closed}"]
    assert "refused" in body["parts"][f"relay 127.0.0.1:{closed}"]["error"].lower()
