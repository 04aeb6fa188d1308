"""API tokens (admins only): make one with a role, shown once; revoke one."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from broadsheet.access import Right
from broadsheet.errors import ValidationError
from broadsheet.models import ApiToken, Role
from broadsheet.services import api_tokens
from web.access import guard
from web.admin.auth import current_role
from web.admin.confirm import confirmed
from web.admin.forms import ROLE_CHOICES, posted
from web.db import session

bp = Blueprint("tokens", __name__, url_prefix="/tokens")
guard(bp, current_role, read=Right.MANAGE, write=Right.MANAGE)


@bp.get("")
def index() -> ResponseReturnValue:
    return _page()


@bp.post("")
def create() -> ResponseReturnValue:
    form = posted(("name", "role"))
    try:
        row, secret = api_tokens.create_token(session(), form["name"], form["role"])
    except ValidationError as exc:
        return _page(form=form, errors=exc.fields), 422
    # Shown in this answer only: the database keeps a hash. Not a redirect, so the secret
    # never sits in a flash message in the session cookie.
    return _page(new_token=(row, secret)), 201


@bp.post("/<int:token_id>/revoke")
def revoke(token_id: int) -> ResponseReturnValue:
    row = api_tokens.get_token(session(), token_id)
    answer = confirmed(
        f"Revoke the API token “{row.name}”?",
        "Programs using it are refused from now on. This cannot be undone; make a new token "
        "if one is needed again.",
        "Revoke the token",
        back=url_for("admin.tokens.index"),
    )
    if answer is not None:
        return answer
    api_tokens.revoke_token(session(), token_id)
    flash(f"The token “{row.name}” is revoked.", "success")
    return redirect(url_for("admin.tokens.index"))


def _page(
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    new_token: tuple[ApiToken, str] | None = None,
) -> str:
    return render_template(
        "admin/tokens.html",
        tokens=api_tokens.list_tokens(session()),
        roles=list(Role),
        role_choices=ROLE_CHOICES,
        form=form or {"name": "", "role": Role.EDITOR.value},
        errors=errors or {},
        new_token=new_token,
        run_token_name=api_tokens.RUN_TOKEN_NAME,
    )
