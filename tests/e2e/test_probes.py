"""/readyz as Redis stops and starts again: a 503 naming Redis (within the check's time, the
database still ok), then 200 once it is back. The Redis is a server of the test's own."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest
import redis

from cli.redis_server import redis_server_args
from tests.support.services import make_tempdir
from web.app import create_app, dispose


class OwnRedis:
    """A Redis server on a socket of its own, which a test may stop and start again."""

    def __init__(self) -> None:
        self.dir = make_tempdir()
        self.socket = self.dir / "redis.sock"
        self.url = f"unix://{self.socket}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        args = redis_server_args(self.socket, self.dir, persist=False)
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(self.url).ping()
                return
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis did not start"
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    server = OwnRedis()
    server.start()
    yield server
    server.stop()


def test_readyz_is_503_with_redis_stopped_and_200_once_it_is_back(settings, own_redis):
    app = create_app(replace(settings, redis_url=own_redis.url))
    try:
        client = app.test_client()
        assert client.get("/readyz").status_code == 200
        own_redis.stop()
        started = time.monotonic()
        response = client.get("/readyz")
        assert time.monotonic() - started < 2.5
        assert response.status_code == 503
        body = response.get_json()
        assert body["failing"] == ["redis"]
        assert body["parts"]["redis"]["state"] == "failing"
        assert body["parts"]["database"] == {"state": "ok"}
        own_redis.start()
        assert client.get("/readyz").status_code == 200
    finally:
        dispose(app)
