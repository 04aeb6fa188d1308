"""Helpers for driving the JSON API and reading received mail in tests."""

from __future__ import annotations

import re
import time
from email.message import EmailMessage
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from broadsheet.services.api_tokens import create_token

LINK = re.compile(r"https?://[^\s<>\"')]+")


def bearer(session: Session) -> dict[str, str]:
    _, secret = create_token(session, "tests")
    session.commit()
    return {"Authorization": f"Bearer {secret}"}


def text_part(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None, "message has no text/plain part"
    content: str = part.get_content()
    return content


def html_part(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None, "message has no text/html part"
    content: str = part.get_content()
    return content


def links(text: str, path: str) -> list[str]:
    return [url for url in LINK.findall(text) if f"/{path}/" in url]


def wait_for_status(
    client: FlaskClient,
    headers: dict[str, str],
    campaign_id: int,
    status: str,
    timeout: float = 60,
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = client.get(
            f"/api/v1/campaigns/{campaign_id}", headers=headers
        ).get_json()
        if body["status"] == status:
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"campaign {campaign_id} still {body['status']}: {body}")
        time.sleep(0.1)
