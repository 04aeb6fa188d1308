"""The API's segments: list and make them, count one, and ask why a reader is in it or not."""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from broadsheet.errors import NotFound, ValidationError
from broadsheet.services import segments, subscriptions
from web.api.routes import _body, bp
from web.api.serializers import segment_json
from web.db import session


@bp.get("/segments")
def list_segments() -> ResponseReturnValue:
    return jsonify([segment_json(s) for s in segments.list_segments(session())])


@bp.post("/segments")
def create_segment() -> ResponseReturnValue:
    data = _body()
    segment = segments.create_segment(session(), data.get("name"), data.get("rules"))
    return jsonify(segment_json(segment, segments.count(session(), segment))), 201


@bp.get("/segments/<int:segment_id>")
def get_segment(segment_id: int) -> ResponseReturnValue:
    """The segment with how many readers it holds now."""
    segment = segments.get_segment(session(), segment_id)
    return jsonify(segment_json(segment, segments.count(session(), segment)))


@bp.get("/segments/<int:segment_id>/explain")
def explain_segment(segment_id: int) -> ResponseReturnValue:
    """`?email=`: whether that reader is in the segment, and each rule, met or not."""
    segment = segments.get_segment(session(), segment_id)
    email = request.args.get("email", "")
    if not email.strip():
        raise ValidationError({"email": "give ?email=<address> to explain for one reader"})
    reader = subscriptions.find_subscriber(session(), email)
    if reader is None:
        raise NotFound("no subscriber with that address")
    reasons = segments.explain(session(), segment, reader)
    return jsonify(
        {
            "segment": segment.name,
            "email": reader.email,
            "member": all(r.met for r in reasons),
            "rules": [{"rule": r.rule, "wanted": r.wanted, "met": r.met} for r in reasons],
        }
    )
