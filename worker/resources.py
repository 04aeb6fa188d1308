"""Per-process resources (settings, database, Redis), made on first use and after each fork."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property

import redis
from sqlalchemy.orm import Session, sessionmaker

from broadsheet.db import make_engine, make_session_factory
from broadsheet.settings import Settings, load_settings
from worker import metrics
from worker.throttle import Throttle


@dataclass
class Resources:
    settings: Settings

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        # A batch holds two connections while it sends (worker/batch.py) and briefly a third;
        # a threads pool runs many batches in one process, so the pool must not be the limit.
        engine = make_engine(self.settings.database_url, pool_size=10, max_overflow=40)
        sessions = make_session_factory(engine)
        metrics.count_commits(sessions, lambda: self.redis)  # what services noted, once committed
        return sessions

    @cached_property
    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.settings.redis_url, socket_timeout=10)

    @cached_property
    def throttle(self) -> Throttle:
        return Throttle(self.redis, self.settings)

    def close(self) -> None:
        """Release connections (only what was opened)."""
        if "sessions" in self.__dict__:
            self.sessions.kw["bind"].dispose()
        if "redis" in self.__dict__:
            self.redis.close()


_current: tuple[int, Resources] | None = None


def close_resources() -> None:
    """Release this process's resources, if it made any."""
    global _current
    if _current is not None:
        _current[1].close()
        _current = None


def resources() -> Resources:
    """This process's resources; a forked child never reuses its parent's connections."""
    global _current
    if _current is None or _current[0] != os.getpid():
        _current = (os.getpid(), Resources(load_settings()))
    return _current[1]
