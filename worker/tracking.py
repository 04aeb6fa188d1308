"""Writing the web's tracking hits to the database in batches (beat runs it every
DRAIN_SECONDS), so the pixel and the redirect never wait on the database.

Exactly once: a batch is moved atomically from the hits list to a processing list headed by
a fresh batch id (a Lua script), written with that id in one transaction
(broadsheet/tracking/store.py skips an id it has), and only then deleted from Redis, and only
if the processing list still holds that batch. A drainer killed at any point leaves its batch
in the processing list, and the next run writes it (again, harmlessly, if it was committed).
"""

from __future__ import annotations

import logging
import time
import uuid

import redis

from broadsheet.tracking.hits import HITS_KEY, PROCESSING_KEY, decode_hit
from broadsheet.tracking.store import forget_old_batches, record_hits
from worker.app import celery_app
from worker.metrics import count_engagement
from worker.resources import Resources, resources

log = logging.getLogger(__name__)

BATCH = 5000  # hits per transaction (a Lua unpack() stays well under its limit)
DRAIN_SECONDS = 2.0
MAX_RUN_SECONDS = 10.0  # a run stops taking new batches after this; the next run goes on

# The batch in flight, if any, else up to ARGV[1] hits moved behind a new id ARGV[2].
_TAKE = """
if redis.call('EXISTS', KEYS[2]) == 1 then return redis.call('LRANGE', KEYS[2], 0, -1) end
local hits = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #hits == 0 then return hits end
redis.call('LTRIM', KEYS[1], #hits, -1)
redis.call('RPUSH', KEYS[2], ARGV[2], unpack(hits))
return redis.call('LRANGE', KEYS[2], 0, -1)
"""
# Delete the processing list only if it is still the batch ARGV[1].
_DONE = """
if redis.call('LINDEX', KEYS[1], 0) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def take_batch(client: redis.Redis, size: int = BATCH) -> tuple[str, list[bytes]] | None:
    """The batch in flight (left by a drainer that died) or a new one; None when idle."""
    items: list[bytes] = client.eval(_TAKE, 2, HITS_KEY, PROCESSING_KEY, size, uuid.uuid4().hex)
    if not items:
        return None
    return items[0].decode(), items[1:]


def finish_batch(client: redis.Redis, batch_id: str) -> None:
    client.eval(_DONE, 1, PROCESSING_KEY, batch_id)


def drain(res: Resources, max_seconds: float = MAX_RUN_SECONDS) -> int:
    """Write batches until the list is empty or `max_seconds` passed; hits written."""
    written, started = 0, time.monotonic()
    while time.monotonic() - started < max_seconds:
        taken = take_batch(res.redis)
        if taken is None:
            break
        batch_id, raw = taken
        hits = [hit for hit in map(decode_hit, raw) if hit is not None]
        with res.sessions.begin() as session:
            recorded = record_hits(session, batch_id, hits, privacy=res.settings.tracking_privacy)
        # Counted once, and only what was written: not a batch written before (by a drainer
        # that died), nor a hit whose delivery is unknown.
        if recorded:
            count_engagement(res.redis, ((hit.kind.value, hit.human) for hit in recorded))
        written += len(recorded)
        finish_batch(res.redis, batch_id)
    if written:
        with res.sessions.begin() as session:
            forget_old_batches(session)
    return written


@celery_app.task(name="broadsheet.drain_hits")
def drain_hits() -> int:
    """Write the opens and clicks waiting in Redis; returns how many were written.
    Idempotent: a batch already written is skipped by its id. Not retried: the next run
    (DRAIN_SECONDS later) takes up a batch this one left."""
    written = drain(resources())
    if written:
        log.info("tracking: %s opens and clicks written", written)
    return written
