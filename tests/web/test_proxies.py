"""Clients behind reverse proxies get an allowance each (TRUSTED_PROXIES): the address the
outermost proxy saw counts, and nothing a client writes in X-Forwarded-For lets it dodge a
limit. Shown with the sign-in limit, five attempts a minute per client (web/limits.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.support.admin import csrf_token
from tests.support.apps import make_app
from web.app import dispose

PROXY = "10.0.0.2"  # the reverse proxy, as the web app sees it


def attempts(client, forwarded: list[str], remote: str = PROXY) -> list[int]:
    """Sign-in attempts with a wrong password, each for another address (so only the
    client's count can refuse one), each forwarded as given; their statuses."""
    token = csrf_token(client)
    statuses = []
    for n, forwarded_for in enumerate(forwarded):
        answer = client.post(
            "/admin/login",
            data={"csrf_token": token, "email": f"nobody{n}@example.org", "password": "x" * 12},
            headers={"X-Forwarded-For": forwarded_for},
            environ_base={"REMOTE_ADDR": remote},
        )
        statuses.append(answer.status_code)
    return statuses


def test_without_trusted_proxies_a_forwarded_address_changes_nothing(app):
    spoofed = [f"203.0.113.{n}" for n in range(1, 7)]  # another "client" each time
    assert attempts(app.test_client(), spoofed) == [401] * 5 + [429]


@pytest.mark.commits  # an app of its own, on connections of its own
def test_behind_one_proxy_each_client_has_its_own_allowance(settings, committed):
    app = make_app(replace(settings, trusted_proxies=1))
    try:
        client = app.test_client()
        assert attempts(client, ["198.51.100.1"] * 6) == [401] * 5 + [429]
        assert attempts(client, ["198.51.100.2"]) == [401], "another client is not held back"
        # What a client writes itself comes first; the proxy appends what it saw.
        spoofing = [f"203.0.113.{n}, 198.51.100.3" for n in range(1, 7)]
        assert attempts(client, spoofing) == [401] * 5 + [429]
    finally:
        dispose(app)
