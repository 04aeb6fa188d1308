"""The admin's bounce and complaint reports: newest first, filtered by kind, in keyset pages,
each linked to its reader and its campaign, with what the receiving side said.

Every signed-in role reads them. A `kind`, `before` or `limit` that is not what it should be
is a 422 naming that parameter, never a 500.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue

from broadsheet.errors import ValidationError
from broadsheet.models import ReportKind
from broadsheet.services import reports
from broadsheet.services.paging import page_size
from broadsheet.services.readers import Page
from web.access import guard
from web.admin.auth import current_role
from web.db import session

bp = Blueprint("reports", __name__, url_prefix="/reports")
guard(bp, current_role)
PAGE = 50
# The filter's choices, in the words the page uses.
KINDS = {
    ReportKind.HARD.value: "Hard bounces",
    ReportKind.SOFT.value: "Soft bounces",
    ReportKind.POLICY.value: "Policy refusals",
    ReportKind.COMPLAINT.value: "Complaints",
}


@bp.get("")
def index() -> ResponseReturnValue:
    kind = request.args.get("kind") or None
    errors: dict[str, str] = {}
    page: Page[reports.ReportRow]
    try:
        limit = page_size(request.args.get("limit"), default=PAGE)
        page = reports.list_reports(session(), kind, request.args.get("before"), limit)
    except ValidationError as exc:
        errors, page = exc.fields, Page([], None)
    answer = render_template(
        "admin/reports.html",
        page=page,
        kind=kind if kind in KINDS else None,
        kinds=KINDS,
        errors=errors,
    )
    return answer, 422 if errors else 200
