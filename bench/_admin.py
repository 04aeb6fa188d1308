"""The admin for the page benchmarks: Flask's test client, signed in through the form."""

from __future__ import annotations

import re

from flask.testing import FlaskClient


def signed_in_client(email: str, password: str) -> FlaskClient:
    """A test client of the app (its settings from the environment), signed in as `email`."""
    from web.app import create_app

    client = create_app().test_client()
    login = client.get("/admin/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', login)
    assert token, "no CSRF token on the sign-in page"
    fields = {"csrf_token": token.group(1), "email": email, "password": password}
    assert client.post("/admin/login", data=fields).status_code == 302, "could not sign in"
    return client
