"""Each campaign's tracked links, read from the database once per process and kept: a
click's redirect then waits on nothing but a dictionary (and one Redis append)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from broadsheet.models import Campaign

CACHE = "broadsheet.tracking_links"


class LinkCache:
    """The links of the `size` campaigns clicked most recently, by campaign id. A campaign's
    links never change once its messages are out (only a draft's rendering can change, and
    drafts' previews and tests carry no tracking tokens), so nothing is ever invalidated."""

    def __init__(self, size: int = 512) -> None:
        self._size = size
        self._links: OrderedDict[int, tuple[str, ...]] = OrderedDict()
        self._lock = threading.Lock()

    def links(self, session: Callable[[], Session], campaign_id: int) -> tuple[str, ...] | None:
        """The campaign's links by index, read with `session()` the first time; None when it
        has none stored (not kept, so a campaign prepared a moment later is read again)."""
        with self._lock:
            found = self._links.get(campaign_id)
            if found is not None:
                self._links.move_to_end(campaign_id)
                return found
        stored = session().scalar(select(Campaign.tracking_links).where(Campaign.id == campaign_id))
        if stored is None:
            return None
        links = tuple(str(url) for url in stored)
        with self._lock:
            self._links[campaign_id] = links
            while len(self._links) > self._size:
                self._links.popitem(last=False)
        return links


def init_app(app: Flask) -> None:
    app.extensions[CACHE] = LinkCache()


def link_cache() -> LinkCache:
    cache: LinkCache = current_app.extensions[CACHE]
    return cache
