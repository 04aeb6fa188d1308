"""The admin for the page benchmarks: Flask's test client, or a running web's pages over
HTTP, signed in through the form; and the web's API over HTTP with a token (the trials)."""

from __future__ import annotations

import http.cookiejar
import json
import re
import urllib.parse
import urllib.request
from typing import Any

from flask.testing import FlaskClient

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def signed_in_client(email: str, password: str) -> FlaskClient:
    """A test client of the app (its settings from the environment), signed in as `email`."""
    from web.app import create_app

    client = create_app().test_client()
    login = client.get("/admin/login").get_data(as_text=True)
    token = CSRF.search(login)
    assert token, "no CSRF token on the sign-in page"
    fields = {"csrf_token": token.group(1), "email": email, "password": password}
    assert client.post("/admin/login", data=fields).status_code == 302, "could not sign in"
    return client


def signed_in_opener(base: str, email: str, password: str) -> urllib.request.OpenerDirector:
    """An HTTP client of the web at `base`, signed in as `email` (its session cookie kept)."""
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    with opener.open(f"{base}/admin/login", timeout=10) as page:
        token = CSRF.search(page.read().decode())
    assert token, "no CSRF token on the sign-in page"
    fields = {"csrf_token": token.group(1), "email": email, "password": password}
    with opener.open(
        f"{base}/admin/login", urllib.parse.urlencode(fields).encode(), timeout=10
    ) as answer:
        assert "/admin/login" not in answer.url, "could not sign in"
    return opener


def api_call(base: str, token: str, method: str, path: str, body: object = None) -> dict[str, Any]:
    """`method /api/v1<path>` on the web at `base` with `token`, `body` as JSON; the answer's
    JSON ({} for an empty answer). An error status raises urllib's HTTPError."""
    request = urllib.request.Request(
        f"{base}/api/v1{path}",
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        found: dict[str, Any] = json.loads(answer.read() or b"{}")
        return found
