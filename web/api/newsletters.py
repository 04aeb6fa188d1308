"""The API's newsletters: GET lists them, POST makes one, PATCH changes one (an editor's or
admin's token, for both)."""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue

from broadsheet.services import newsletters
from web.api.routes import _body, bp
from web.api.serializers import newsletter_json
from web.db import session


@bp.get("/newsletters")
def list_newsletters() -> ResponseReturnValue:
    return jsonify([newsletter_json(n) for n in newsletters.list_newsletters(session())])


@bp.post("/newsletters")
def create_newsletter() -> ResponseReturnValue:
    data = _body()
    newsletter = newsletters.create_newsletter(
        session(),
        data.get("name"),
        data.get("slug"),
        description=data.get("description", ""),
        public=data.get("public", True),
        sender_name=data.get("sender_name", ""),
        sender_address=data.get("sender_address", ""),
        reply_to=data.get("reply_to", ""),
        welcome=data.get("welcome", False),
    )
    return jsonify(newsletter_json(newsletter)), 201


@bp.patch("/newsletters/<ref>")
def update_newsletter(ref: str) -> ResponseReturnValue:
    """Change the newsletter `ref` names (its slug, or its id): the fields given, each
    checked as POST checks it; the slug stays (422 naming it)."""
    data = _body()
    newsletter = newsletters.find_newsletter(session(), ref)
    newsletter = newsletters.update_newsletter(session(), newsletter.id, **data)
    return jsonify(newsletter_json(newsletter))
