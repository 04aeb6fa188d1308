"""Domain exceptions become HTTP answers here: JSON under /api, pages elsewhere."""

from __future__ import annotations

import logging
from collections.abc import Callable

import redis
from flask import Flask, Response, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from broadsheet.errors import BadToken, Conflict, NotFound, ValidationError

log = logging.getLogger(__name__)

STATUS = {ValidationError: 422, NotFound: 404, Conflict: 409, BadToken: 400}


def wants_json() -> bool:
    return request.path.startswith("/api/")


def in_admin() -> bool:
    return request.path == "/admin" or request.path.startswith("/admin/")


def error_response(
    status: int, message: str, fields: dict[str, str] | None = None, *, expired: bool = False
) -> tuple[Response | str, int]:
    if wants_json():
        return jsonify(error=message, fields=fields or {}), status
    template = "admin/error.html" if in_admin() else "error.html"
    page = render_template(template, status=status, message=message, expired=expired)
    return page, status


def init_app(app: Flask) -> None:
    for exc_type, status in STATUS.items():
        app.register_error_handler(exc_type, _domain_handler(status))
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(redis.RedisError, _redis_down)


def _domain_handler(status: int) -> Callable[[Exception], ResponseReturnValue]:
    def handle(exc: Exception) -> ResponseReturnValue:
        return error_response(
            status,
            str(exc),
            getattr(exc, "fields", None),
            expired=getattr(exc, "expired", False),
        )

    return handle


def _redis_down(exc: redis.RedisError) -> ResponseReturnValue:
    log.warning("%s %s: Redis cannot be reached: %s", request.method, request.path, exc)
    return error_response(503, "a service Broadsheet needs (Redis) cannot be reached; try again")


def _http_error(exc: HTTPException) -> ResponseReturnValue:
    return error_response(exc.code or 500, exc.description or exc.name)
