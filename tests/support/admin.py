"""Driving the admin with Flask's test client: signing in, and posting forms with their CSRF
token, as a browser would."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.support.factories import PASSWORD

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client: FlaskClient, page: str = "/admin/login") -> str:
    """The session's CSRF token, read from a form on `page`."""
    html = client.get(page).get_data(as_text=True)
    match = TOKEN.search(html)
    assert match, f"no CSRF token on {page}"
    return match.group(1)


def post_form(client: FlaskClient, url: str, page: str, **fields: str) -> TestResponse:
    """Post `fields` to `url` with the CSRF token of a form on `page`."""
    return client.post(url, data={"csrf_token": csrf_token(client, page), **fields})


def sign_in(client: FlaskClient, email: str, password: str = PASSWORD) -> TestResponse:
    answer = post_form(client, "/admin/login", "/admin/login", email=email, password=password)
    assert answer.status_code == 302, answer.get_data(as_text=True)[:2000]
    return answer
