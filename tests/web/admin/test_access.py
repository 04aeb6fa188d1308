"""Who may open what in the admin, checked on every route of the URL map: anonymous callers go
to the sign-in page, a role without the right gets 403, and sessions end when they should."""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import Request, urlopen

import pytest
from flask import Flask
from sqlalchemy import select

from broadsheet.models import ApiToken, User
from broadsheet.passwords import verify_password
from broadsheet.services import users
from tests.support.admin import TOKEN, csrf_token, post_form, sign_in
from tests.support.factories import PASSWORD, make_user

# Views an operator may post to: pausing a send, and signing out.
OPERATOR_POSTS = {"admin.campaigns.pause", "admin.auth.logout"}
OPEN = {"admin.auth.login_form", "admin.auth.login", "admin.static"}


def admin_routes(app: Flask, ids: str = "1") -> list[tuple[str, str, str]]:
    """(endpoint, method, url) for every admin route, ids filled in with `ids`."""
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin") or rule.endpoint == "admin.static":
            continue
        url = re.sub(r"<(?:\w+:)?(\w+)>", ids, rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            routes.append((rule.endpoint, method, url))
    return routes


def call(client, method: str, url: str, token: str | None):
    if method == "GET":
        return client.get(url)
    return client.open(url, method=method, data={"csrf_token": token} if token else {})


def test_the_admin_has_the_sections_the_issue_names(app):
    endpoints = {endpoint for endpoint, _, _ in admin_routes(app)}
    for needed in ("admin.home.index", "admin.users.index", "admin.tokens.index"):
        assert needed in endpoints


def test_every_admin_route_sends_anonymous_callers_to_sign_in(app, committed):
    client = app.test_client()
    token = csrf_token(client)  # even with a valid form token, nobody gets past sign-in
    for endpoint, method, url in admin_routes(app):
        if endpoint in OPEN:
            continue
        answer = call(client, method, url, token)
        assert answer.status_code == 302, (endpoint, method, answer.status_code)
        assert answer.headers["Location"].startswith("/admin/login"), (endpoint, method)


@pytest.mark.parametrize("role", ["operator", "editor"])
def test_a_role_without_the_right_gets_403_on_every_route_it_may_not_use(app, committed, role):
    make_user(committed, role)
    client = app.test_client()
    sign_in(client, f"{role}@example.org")
    token = csrf_token(client, "/admin/")
    checked = 0
    for endpoint, method, url in admin_routes(app):
        section = endpoint.split(".")[1]
        if role == "editor":
            forbidden = section in ("users", "tokens")
        else:
            forbidden = section in ("users", "tokens") or (
                method != "GET" and endpoint not in OPERATOR_POSTS
            )
        if not forbidden or endpoint in OPEN:
            continue
        answer = call(client, method, url, token)
        assert answer.status_code == 403, (endpoint, method, answer.status_code)
        checked += 1
    assert checked >= 4


def test_an_operator_can_read_the_admin_but_an_editor_cannot_manage_people(app, committed):
    make_user(committed, "operator")
    client = app.test_client()
    sign_in(client, "operator@example.org")
    home = client.get("/admin/")
    assert home.status_code == 200
    assert "People" not in home.get_data(as_text=True), "no link to a page it may not open"


def test_wrong_address_and_wrong_password_get_the_same_answer(app, committed):
    make_user(committed, "editor")
    client = app.test_client()
    wrong_password = post_form(
        client, "/admin/login", "/admin/login", email="editor@example.org", password="nope" * 3
    )
    nobody = post_form(
        client, "/admin/login", "/admin/login", email="nobody@example.org", password="nope" * 3
    )
    assert wrong_password.status_code == nobody.status_code == 401
    clean = [
        re.sub(r'value="[^"]*"', "", a.get_data(as_text=True)) for a in (wrong_password, nobody)
    ]
    assert clean[0] == clean[1]
    assert "Wrong email address or password." in clean[0]


def test_failed_sign_ins_are_limited_per_address_then_per_client(app, committed):
    make_user(committed, "editor")
    client = app.test_client()
    for _ in range(5):
        answer = post_form(
            client, "/admin/login", "/admin/login", email="editor@example.org", password="x" * 12
        )
        assert answer.status_code == 401
    right = post_form(
        client, "/admin/login", "/admin/login", email="editor@example.org", password=PASSWORD
    )
    assert right.status_code == 429, "even the right password waits out the limit"
    assert "Too many sign-in attempts" in right.get_data(as_text=True)
    assert 0 < int(right.headers["Retry-After"]) <= 60
    other = post_form(
        client, "/admin/login", "/admin/login", email="other@example.org", password="x" * 12
    )
    assert other.status_code == 429, "the same client is limited for every address"


def test_thirty_wrong_passwords_sent_at_once_get_at_most_five_checked(
    app, committed, live, monkeypatch
):
    make_user(committed, "editor")
    checked = []
    real_check = verify_password

    def counted(stored_hash, password):
        checked.append(password)
        return real_check(stored_hash, password)

    monkeypatch.setattr(users, "verify_password", counted)
    form = urlopen(f"{live.url}/admin/login")
    cookie = form.headers["Set-Cookie"].split(";")[0]
    found = TOKEN.search(form.read().decode())
    assert found is not None
    token = found.group(1)
    start = threading.Barrier(30)
    statuses: list[int] = []

    def attempt(n: int) -> None:
        body = urlencode(
            {"csrf_token": token, "email": "editor@example.org", "password": f"wrong-{n:08d}"}
        ).encode()
        request = Request(f"{live.url}/admin/login", body, {"Cookie": cookie})
        start.wait()
        try:
            statuses.append(urlopen(request).status)
        except HTTPError as answer:
            statuses.append(answer.code)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(statuses) == [401] * 5 + [429] * 25
    assert len(checked) == 5, f"{len(checked)} passwords checked"


def test_signing_in_starts_a_fresh_session_with_a_safe_cookie(app, committed):
    make_user(committed, "editor")
    client = app.test_client()
    client.get("/admin/login")
    before = client.get_cookie("session").value
    answer = sign_in(client, "editor@example.org")
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get_cookie("session").value != before
    assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize(
    ("target", "expected"), [("/admin/tokens?page=2", "/admin/tokens?page=2"), (None, "/admin/")]
)
def test_sign_in_returns_to_the_admin_page_asked_for_or_home(app, committed, target, expected):
    make_user(committed, "editor")
    client = app.test_client()
    asked = client.get("/admin/login", query_string={"next": target} if target else {})
    assert f'name="next" value="{expected}"' in asked.get_data(as_text=True)
    form = {"csrf_token": csrf_token(client), "email": "editor@example.org", "password": PASSWORD}
    answer = client.post("/admin/login", data=form | ({"next": target} if target else {}))
    assert answer.status_code == 302 and answer.headers["Location"] == expected


@pytest.mark.parametrize("too_big", [2**31, 2**63])  # past PostgreSQL's INTEGER; past 64 bits
def test_an_id_no_row_can_have_is_a_404_page_naming_it_on_every_route(app, committed, too_big):
    make_user(committed, "admin")
    client = app.test_client()
    sign_in(client, "admin@example.org")
    token = csrf_token(client, "/admin/")
    with_ids = [(m, url) for _, m, url in admin_routes(app, str(too_big)) if str(too_big) in url]
    for method, url in with_ids:
        answer = call(client, method, url, token)
        assert answer.status_code == 404, (method, url, answer.status_code)
        assert f" {too_big} does not exist" in answer.get_data(as_text=True), url
    assert len(with_ids) >= 15


def test_a_page_marker_no_row_can_have_is_refused_naming_it(app, committed):
    make_user(committed, "admin")
    client = app.test_client()
    sign_in(client, "admin@example.org")
    for page in ("/admin/articles", "/admin/campaigns", "/admin/subscribers"):
        for before in ("99999999999999999999", "2147483648", "-1", "%C2%B2"):
            answer = client.get(f"{page}?before={before}")
            assert answer.status_code == 422, (page, before, answer.status_code)
            html = answer.get_data(as_text=True)
            assert "must be a positive id" in html or "must be the id of the last" in html


@pytest.mark.parametrize(
    ("target", "says"),
    [
        ("/admin/\r\nSet-Cookie: stolen=1", "holds a control character"),
        ("/admin/users\n", "holds a control character"),
        ("/admin/\t", "holds a control character"),
        ("https://evil.example/admin/", "leads to another site"),
        ("//evil.example/admin/", "leads to another site"),
        ("javascript:alert(1)", "leads to another site"),
        ("/\\evil.example/admin/", "holds a backslash"),
        ("/subscribe", "is not a page of the admin"),
    ],
)
def test_a_next_page_off_the_admin_or_with_control_characters_is_refused_naming_it(
    app, committed, target, says
):
    """Refused, not quietly replaced, and before the password is even checked: nobody is
    signed in by a link that carries one."""
    make_user(committed, "editor")
    client = app.test_client()
    asked = client.get("/admin/login", query_string={"next": target})
    form = {"csrf_token": csrf_token(client), "email": "editor@example.org",
            "password": PASSWORD, "next": target}  # fmt: skip
    posted = client.post("/admin/login", data=form)
    for answer in (asked, posted):
        html = answer.get_data(as_text=True)
        assert answer.status_code == 400 and "Location" not in answer.headers
        assert f"The field &#39;next&#39; {says}" in html and 'class="admin' in html
        assert "stolen" not in answer.headers.get("Set-Cookie", "")
    assert client.get("/admin/").headers["Location"].startswith("/admin/login")


def test_a_next_page_with_a_nul_is_refused_naming_it(app, committed):
    """A NUL, which no field may hold (web/nul.py), is refused before signing in at all."""
    make_user(committed, "editor")
    client = app.test_client()
    form = {"csrf_token": csrf_token(client), "email": "editor@example.org",
            "password": PASSWORD, "next": "/admin/\x00"}  # fmt: skip
    answer = client.post("/admin/login", data=form)
    assert answer.status_code == 400 and "next" in answer.get_data(as_text=True)
    assert "Location" not in answer.headers


def test_a_new_password_or_a_switched_off_account_ends_its_sessions(app, committed):
    editor = make_user(committed, "editor")
    make_user(committed, "admin")
    client = app.test_client()
    sign_in(client, "editor@example.org")
    assert client.get("/admin/").status_code == 200
    users.set_password(committed, editor.id, "another good password")
    committed.commit()
    assert client.get("/admin/").status_code == 302, "signed out by the new password"
    sign_in(client, "editor@example.org", "another good password")
    users.update_user(committed, editor.id, role="editor", active=False)
    committed.commit()
    assert client.get("/admin/").status_code == 302
    answer = post_form(
        client,
        "/admin/login",
        "/admin/login",
        email="editor@example.org",
        password="another good password",
    )
    assert answer.status_code == 401, "a switched-off account cannot sign in"


def test_the_session_cookie_lasts_twelve_hours(app, committed):
    make_user(committed, "editor")
    client = app.test_client()
    cookie = sign_in(client, "editor@example.org").headers["Set-Cookie"]
    found = re.search(r"Expires=([^;]+)", cookie)
    assert found is not None, cookie
    expires = parsedate_to_datetime(found.group(1))
    hours = (expires - datetime.now(UTC)).total_seconds() / 3600
    assert 11.9 < hours <= 12, f"the cookie lasts {hours:.1f} hours"


def test_a_cookie_copied_before_signing_out_is_refused_after_it(app, committed):
    make_user(committed, "admin")
    client = app.test_client()
    sign_in(client, "admin@example.org")
    copied = client.get_cookie("session").value
    thief = app.test_client()
    thief.set_cookie("session", copied)
    assert thief.get("/admin/users").status_code == 200, "the copy works while signed in"
    client.post("/admin/logout", data={"csrf_token": csrf_token(client, "/admin/")})
    replayed = thief.get("/admin/users")
    assert replayed.status_code == 302
    assert replayed.headers["Location"].startswith("/admin/login")


def test_a_session_signed_in_twelve_hours_ago_or_at_no_known_time_is_refused(app, committed):
    make_user(committed, "editor")
    client = app.test_client()
    sign_in(client, "editor@example.org")
    # The session as the server signed it, but its sign-in time moved back: what a cookie
    # kept alive by requests (each renews its Max-Age) carries after 12 hours.
    with client.session_transaction() as session:
        session["signed_in_at"] -= 12 * 3600 - 60
    assert client.get("/admin/").status_code == 200, "11 h 59 min: still signed in"
    with client.session_transaction() as session:
        session["signed_in_at"] -= 61
    answer = client.get("/admin/")
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/admin/login")
    older = app.test_client()
    sign_in(older, "editor@example.org")
    with older.session_transaction() as session:
        del session["signed_in_at"]  # as every session made before sign-in times were kept
    assert older.get("/admin/").status_code == 302, "no sign-in time: refused too"


def test_setting_your_own_password_keeps_this_session_and_ends_the_others(app, committed):
    admin = make_user(committed, "admin")
    client, elsewhere = app.test_client(), app.test_client()
    sign_in(client, "admin@example.org")
    sign_in(elsewhere, "admin@example.org")
    signed_in_at = time.time()
    answer = post_form(
        client, f"/admin/users/{admin.id}/password", "/admin/users",
        password="a brand new password",
    )  # fmt: skip
    assert answer.status_code == 302
    assert client.get("/admin/users").status_code == 200, "this session goes on"
    with client.session_transaction() as session:
        assert session["signed_in_at"] <= signed_in_at, "with its own sign-in time"
    assert elsewhere.get("/admin/users").status_code == 302, "the other one ended"


def test_logout_is_a_post_with_a_token(app, committed):
    make_user(committed, "editor")
    client = app.test_client()
    sign_in(client, "editor@example.org")
    assert client.get("/admin/logout").status_code == 405
    assert client.post("/admin/logout").status_code == 400, "no CSRF token"
    assert client.get("/admin/").status_code == 200, "still signed in"
    client.post("/admin/logout", data={"csrf_token": csrf_token(client, "/admin/")})
    assert client.get("/admin/").status_code == 302


def test_the_last_admin_cannot_be_demoted_or_switched_off(app, committed):
    admin = make_user(committed, "admin")
    client = app.test_client()
    sign_in(client, "admin@example.org")
    page = "/admin/users"
    answer = post_form(client, f"/admin/users/{admin.id}", page, role="editor", active="yes")
    assert answer.status_code == 409
    assert "last active admin" in answer.get_data(as_text=True)
    committed.expire_all()
    assert committed.scalar(select(User.role)).value == "admin"


def test_an_admin_adds_someone_with_errors_next_to_the_fields(app, committed):
    make_user(committed, "admin")
    client = app.test_client()
    sign_in(client, "admin@example.org")
    bad = post_form(
        client, "/admin/users", "/admin/users", email="not-an-address", password="short",
        role="editor",
    )  # fmt: skip
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422
    assert 'id="email-error"' in html and 'id="password-error"' in html
    assert 'value="not-an-address"' in html, "what was typed is kept"
    good = post_form(
        client, "/admin/users", "/admin/users", email="New.Editor@example.org",
        password="a long enough password", role="editor",
    )  # fmt: skip
    assert good.status_code == 302
    assert users.authenticate(committed, "new.editor@example.org", "a long enough password")
    committed.rollback()


def test_an_admin_makes_a_token_shown_once_and_revokes_it_after_confirming(app, committed):
    make_user(committed, "admin")
    client = app.test_client()
    sign_in(client, "admin@example.org")
    made = post_form(client, "/admin/tokens", "/admin/tokens", name="CMS", role="operator")
    assert made.status_code == 201
    found = re.search(r"bs_[\w-]+", made.get_data(as_text=True))
    assert found is not None
    secret = found.group(0)
    assert secret not in client.get("/admin/tokens").get_data(as_text=True), "shown once"
    token_id, role = committed.execute(
        select(ApiToken.id, ApiToken.role).where(ApiToken.name == "CMS")
    ).one()
    committed.rollback()  # on SQLite an open read holds the write lock the app needs
    assert role.value == "operator"
    api = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/campaigns", headers=api).status_code == 200
    asked = post_form(client, f"/admin/tokens/{token_id}/revoke", "/admin/tokens")
    assert asked.status_code == 200 and "Revoke the API token" in asked.get_data(as_text=True)
    assert client.get("/api/v1/campaigns", headers=api).status_code == 200, "not yet revoked"
    done = post_form(client, f"/admin/tokens/{token_id}/revoke", "/admin/tokens", confirm="yes")
    assert done.status_code == 302
    assert client.get("/api/v1/campaigns", headers=api).status_code == 401
