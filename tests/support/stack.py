"""The services one test run shares. Their addresses are chosen (and exported to the
environment) before collection, so any code that reads settings sees the test values."""

from __future__ import annotations

import os
import shutil

from broadsheet.migrate import upgrade
from tests.support.services import TestDatabase, TestRedis, make_tempdir
from tests.support.smtp import SmtpServer


class Stack:
    def __init__(self) -> None:
        self.workdir = make_tempdir()
        self.db = TestDatabase(self.workdir)
        self.redis = TestRedis(self.workdir)
        self.smtp = SmtpServer()
        self.env = {
            "BROADSHEET_INSTANCE": str(self.workdir / "instance"),
            "DATABASE_URL": self.db.url,
            "REDIS_URL": self.redis.url,
            "SMTP_URL": self.smtp.url,
            "SECRET_KEY": "test-secret-key-not-for-production",
            "PUBLIC_URL": "http://news.example.test",
            "MAIL_FROM": "The Test Gazette <news@example.test>",
            "SEND_RATE": "2000",
            "BATCH_SIZE": "25",
        }
        self._saved = {k: os.environ.get(k) for k in self.env}
        self.started = False

    def export(self) -> None:
        os.environ.update(self.env)

    def start(self) -> None:
        """Create the database, start Redis and the SMTP server, migrate. Undone by stop()."""
        try:
            self.db.create()
            self.redis.start()
            self.smtp.start()
            upgrade(self.db.url)
        except BaseException:
            self.stop()
            raise
        self.started = True

    def stop(self) -> None:
        for action in (self.smtp.stop, self.redis.stop, self.db.drop):
            try:
                action()
            except Exception as exc:  # keep tearing down the rest
                print(f"teardown: {action.__qualname__} failed: {exc}")

    def restore_environment(self) -> None:
        self.smtp.close()
        for key, value in self._saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        shutil.rmtree(self.workdir, ignore_errors=True)
