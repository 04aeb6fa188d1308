"""Signing in and out of the admin: Flask-Login sessions over the users service.

A session names its account and the account's session key, so a new password, a switched
off account or signing out (which gives the account a new key) ends every session of that
account at its next request: Flask's sessions live in the cookie, so only a check against
the server's state can refuse a copy of one. A session also carries the time it was signed
in, and is refused once that is SESSION_LIFETIME ago, however often its cookie was renewed.
The session is started afresh at sign in. Wrong address and wrong password get the same
answer; attempts are limited per address and per client (web/limits.py).
"""

from __future__ import annotations

import re
import time
from datetime import timedelta

from flask import (
    Blueprint,
    Flask,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from broadsheet.access import Right, can
from broadsheet.models import Role, User
from broadsheet.services import users
from web.db import session as db_session
from web.extensions import client_address
from web.limits import SIGN_IN_ACCOUNT, SIGN_IN_CLIENT, wait_in_words

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
SESSION_LIFETIME = timedelta(hours=12)
SIGNED_IN_AT = "signed_in_at"  # in the session: when it was signed in, in Unix seconds
WRONG = "Wrong email address or password."
# A URL's scheme (`https:`, `javascript:`): a `next` that starts with one leaves the admin.
OFF_SITE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


class SignedIn(UserMixin):  # type: ignore[misc]  # Flask-Login ships no types: UserMixin is Any
    """The signed-in account as Flask-Login sees it (the domain's User knows no Flask)."""

    def __init__(self, user: User) -> None:
        self.user_id, self.email, self.role = user.id, user.email, user.role
        self._session_id = f"{user.id}:{user.session_key}"

    def get_id(self) -> str:
        return self._session_id

    def can(self, right: Right | str) -> bool:
        return can(self.role, Right(right))


def init_app(app: Flask) -> None:
    # Set, not setdefault: Flask has its own default (31 days). The cookie's Max-Age, and
    # the age of its signature that Flask accepts, follow this; the sign-in time caps it.
    app.config["PERMANENT_SESSION_LIFETIME"] = SESSION_LIFETIME
    login_manager.init_app(app)
    login_manager.session_protection = "basic"
    login_manager.login_view = "admin.auth.login_form"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"


@login_manager.user_loader  # type: ignore[untyped-decorator]  # Flask-Login ships no types
def _load(session_id: str) -> SignedIn | None:
    if not _within_lifetime(session.get(SIGNED_IN_AT)):
        return None
    user = users.session_user(db_session(), session_id)
    return SignedIn(user) if user is not None else None


def _within_lifetime(signed_in_at: object) -> bool:
    """Whether a session signed in at `signed_in_at` is still young enough (a session from
    before sign-in times were kept has none, and must sign in again)."""
    if not isinstance(signed_in_at, int | float) or isinstance(signed_in_at, bool):
        return False
    return time.time() - signed_in_at < SESSION_LIFETIME.total_seconds()


def current_role() -> Role:
    """The signed-in person's role (the admin blueprint has made sure someone is)."""
    role: Role = current_user.role
    return role


@bp.get("/login")
def login_form() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(_next_page())
    return render_template("admin/login.html", email="", next=_next_page(), error=None)


@bp.post("/login")
def login() -> ResponseReturnValue:
    after = _next_page()  # a `next` that is refused is refused before any attempt is counted
    email = request.form.get("email", "").strip()
    account, client = email.lower()[:320], client_address()
    # Each attempt is counted before its password is checked, in one step, so attempts sent
    # together cannot all be checked; a sign-in that works forgives the address its failures.
    wait = SIGN_IN_CLIENT.spend(client) or SIGN_IN_ACCOUNT.spend(account)
    if wait:
        error = (
            f"Too many sign-in attempts for this address or from your network. "
            f"Wait {wait_in_words(wait)}, then try again."
        )
        page, status = _form_again(email, error, 429)
        return page, status, {"Retry-After": str(wait)}
    user = users.authenticate(db_session(), email, request.form.get("password", ""))
    if user is None:
        return _form_again(email, WRONG, 401)
    SIGN_IN_ACCOUNT.forgive(account)
    session.clear()  # a fresh session: nothing from before signing in is carried over
    login_user(SignedIn(user))
    session[SIGNED_IN_AT] = int(time.time())
    session.permanent = True
    return redirect(after)


def keep_signed_in(user: User) -> None:
    """After the signed-in person's own session key changed (they set their own password),
    carry this session over to the new key; it keeps its sign-in time."""
    login_user(SignedIn(user))


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    # The cookie lives in the browser; a copy of it would still be signed. Ending the
    # account's sessions on the server is what makes signing out refuse that copy.
    users.end_sessions(db_session(), current_user.user_id)
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("admin.auth.login_form"))


def _form_again(email: str, error: str, status: int) -> tuple[str, int]:
    page = render_template("admin/login.html", email=email, next=_next_page(), error=error)
    return page, status


def _next_page() -> str:
    """Where to go after signing in: the admin page `next` names, or the admin's home when it
    names none. Any other `next` (another site, a control character) is answered 400 naming
    it, not quietly replaced."""
    wanted = request.values.get("next", "")
    if not wanted:
        return url_for("admin.home.index")
    if problem := _next_problem(wanted):
        abort(400, description=f"the field 'next' {problem}: it must be a page of the admin, "
                               "a path starting with /admin/")  # fmt: skip
    return wanted


def _next_problem(wanted: str) -> str | None:
    if not wanted.isprintable():
        return "holds a control character (CR or LF would break the redirect's header)"
    if "\\" in wanted:
        return "holds a backslash (browsers read one as a slash, and /\\ as another site)"
    if wanted.startswith("//") or OFF_SITE.match(wanted):
        return "leads to another site"
    if not wanted.startswith("/admin/"):
        return "is not a page of the admin"
    return None
