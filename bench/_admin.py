"""The admin for the page benchmarks: Flask's test client, or a running web's pages over
HTTP, signed in through the form."""

from __future__ import annotations

import http.cookiejar
import re
import urllib.parse
import urllib.request

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
