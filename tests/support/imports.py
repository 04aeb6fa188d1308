"""Uploading a file to the admin's "Import readers" with Flask's test client, as its form does."""

from __future__ import annotations

import io

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.support.admin import csrf_token

FORM = "/admin/subscribers/imports/new"


def upload(
    client: FlaskClient, content: bytes, name: str = "members.csv", **fields: str
) -> TestResponse:
    data = {"csrf_token": csrf_token(client, FORM), "status": "active", **fields,
            "file": (io.BytesIO(content), name)}  # fmt: skip
    return client.post("/admin/subscribers/imports", data=data, content_type="multipart/form-data")
