"""The rate limiter's plumbing: it counts in the app's Redis under the prefix tests clear, it
is given REDIS_URL in the `limits` package's spelling, and a Redis it cannot reach refuses
the limited request (503) rather than letting it through unlimited."""

from __future__ import annotations

from dataclasses import replace

import pytest
from limits.storage import RedisStorage, storage_from_string

from tests.support.admin import post_form
from tests.support.factories import make_user
from web.app import create_app, dispose
from web.extensions import limits_storage_uri


@pytest.mark.parametrize(
    ("redis_url", "spelled"),
    [
        ("unix:///srv/broadsheet/redis.sock?db=2", "redis+unix:///srv/broadsheet/redis.sock?db=2"),
        ("redis://127.0.0.1:6379/11", "redis://127.0.0.1:6379/11"),
        ("rediss://:secret@redis.example.org:6380/1", "rediss://:secret@redis.example.org:6380/1"),
    ],
)
def test_redis_url_is_spelled_as_the_limits_package_reads_it(redis_url, spelled):
    assert limits_storage_uri(redis_url) == spelled
    assert isinstance(storage_from_string(spelled), RedisStorage)  # connects on first use


def test_counts_live_in_the_apps_redis_under_the_cleared_prefix(app, committed, stack):
    client = app.test_client()
    post_form(client, "/admin/login", "/admin/login", email="who@example.org", password="x" * 12)
    keys = [key.decode() for key in stack["redis"].client().scan_iter(match="*sign-in*")]
    assert len(keys) == 2 and all(key.startswith("broadsheet:limit:") for key in keys), keys


@pytest.mark.commits  # a second app, on connections of its own
def test_limited_requests_get_503_when_redis_cannot_be_reached(settings, committed, monkeypatch):
    make_user(committed, "editor")
    checked = []
    monkeypatch.setattr(
        "broadsheet.services.users.verify_password", lambda *args: checked.append(args)
    )
    down = create_app(replace(settings, redis_url="redis://127.0.0.1:9/0"))
    try:
        client = down.test_client()
        signup = post_form(client, "/subscribe", "/subscribe", email="ann@example.org")
        sign_in = post_form(
            client, "/admin/login", "/admin/login", email="editor@example.org", password="x" * 12
        )
    finally:
        dispose(down)
    for answer in (signup, sign_in):
        assert answer.status_code == 503
        assert "Redis" in answer.get_data(as_text=True)
    assert checked == [], "no password is checked without its limit"
