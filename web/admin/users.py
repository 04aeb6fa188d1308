"""People who use the admin (admins only): add someone, change a role, switch an account off,
set a new password."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from broadsheet.access import Right
from broadsheet.errors import Conflict, ValidationError
from broadsheet.models import Role
from broadsheet.services import users
from web.access import guard
from web.admin.auth import current_role, keep_signed_in
from web.admin.confirm import confirmed
from web.admin.forms import ROLE_CHOICES, posted
from web.db import session

bp = Blueprint("users", __name__, url_prefix="/users")
guard(bp, current_role, read=Right.MANAGE, write=Right.MANAGE)


@bp.get("")
def index() -> ResponseReturnValue:
    return _page()


@bp.post("")
def create() -> ResponseReturnValue:
    form = posted(("email", "password", "role"))
    try:
        user = users.create_user(session(), form["email"], form["password"], form["role"])
    except ValidationError as exc:
        return _page(form=form, errors=exc.fields), 422
    flash(f"{user.email} can now sign in as {user.role.value}.", "success")
    return redirect(url_for("admin.users.index"))


@bp.post("/<int:user_id>")
def update(user_id: int) -> ResponseReturnValue:
    user = users.get_user(session(), user_id)
    role, active = request.form.get("role", ""), request.form.get("active") == "yes"
    if user.active and not active:
        answer = confirmed(
            f"Switch off {user.email}'s account?",
            "They are signed out at once and cannot sign in until an admin switches the "
            "account on again. Nothing they made is removed.",
            "Switch the account off",
            back=url_for("admin.users.index"),
        )
        if answer is not None:
            return answer
    try:
        users.update_user(session(), user_id, role=role, active=active)
    except ValidationError as exc:
        return _page(row_errors={user_id: exc.fields}), 422
    except Conflict as exc:
        return _page(row_errors={user_id: {"role": str(exc)}}), 409
    if user_id == current_user.user_id and not active:
        flash("Your own account is switched off; you are signed out.", "info")
    else:
        flash(f"{user.email}: {user.role.value}, {'on' if user.active else 'off'}.", "success")
    return redirect(url_for("admin.users.index"))


@bp.post("/<int:user_id>/password")
def password(user_id: int) -> ResponseReturnValue:
    try:
        user = users.set_password(session(), user_id, request.form.get("password", ""))
    except ValidationError as exc:
        return _page(row_errors={user_id: exc.fields}), 422
    if user_id == current_user.user_id:
        keep_signed_in(user)  # your other sessions end; this one goes on
    flash(f"{user.email} has a new password; their other sessions have ended.", "success")
    return redirect(url_for("admin.users.index"))


def _page(
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    row_errors: dict[int, dict[str, str]] | None = None,
) -> str:
    return render_template(
        "admin/users.html",
        people=users.list_users(session()),
        roles=list(Role),
        role_choices=ROLE_CHOICES,
        form=form or {"email": "", "password": "", "role": Role.EDITOR.value},
        errors=errors or {},
        row_errors=row_errors or {},
    )
