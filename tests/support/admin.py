"""Driving the admin with Flask's test client: signing in, and posting forms with their CSRF
token, as a browser would."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

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


@dataclass
class Form:
    """A form on a page, with the values a browser would send if it were submitted as is."""

    action: str
    method: str
    shown: bool  # False: `hidden` until the page's script shows it
    fields: list[tuple[str, str]] = field(default_factory=list)


class _PageReader(HTMLParser):
    """The forms and links of a page, read as a browser reads them."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.page = page
        self.forms: list[Form] = []
        self.links: list[str] = []
        self._select: tuple[str, list[str], list[str]] | None = None  # name, first, chosen
        self._textarea: tuple[str, list[str]] | None = None
        self._in_form = self._disabled = False  # inside a form; inside a disabled fieldset

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "form":
            method = a.get("method", "get").lower()
            self.forms.append(Form(a.get("action") or self.page, method, "hidden" not in a))
            self._in_form = True
        elif tag == "fieldset" and "disabled" in a:
            self._disabled = True
        elif not self._in_form or self._disabled or "disabled" in a:
            return
        elif tag == "input" and a.get("name") and a.get("type") not in ("submit", "button"):
            if a.get("type") not in ("checkbox", "radio") or "checked" in a:
                default = "on" if a.get("type") in ("checkbox", "radio") else ""
                self.forms[-1].fields.append((a["name"], a.get("value", default)))
        elif tag == "select" and a.get("name"):
            self._select = (a["name"], [], [])
        elif tag == "option" and self._select:
            _, first, chosen = self._select
            if not first:
                first.append(a.get("value", ""))
            if "selected" in a:
                chosen.append(a.get("value", ""))
        elif tag == "textarea" and a.get("name"):
            self._textarea = (a["name"], [])

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self._textarea[1].append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("form", "fieldset"):
            self._in_form, self._disabled = self._in_form and tag != "form", False
        elif tag == "select" and self._select:
            name, first, chosen = self._select  # with none selected, a browser sends the first
            self.forms[-1].fields.append((name, (chosen or first or [""])[0]))
            self._select = None
        elif tag == "textarea" and self._textarea:
            name, text = self._textarea
            self.forms[-1].fields.append((name, "".join(text).removeprefix("\n")))
            self._textarea = None


def forms_and_links(html: str, page: str) -> tuple[list[Form], list[str]]:
    """The forms on `page` (its HTML given) and the addresses of its links."""
    reader = _PageReader(page)
    reader.feed(html)
    return reader.forms, reader.links
