"""The counters and histograms behind GET /metrics: their names, help and labels, and how a
service notes an event so that it is counted once its transaction commits.

Every process (each gunicorn worker, each Celery pool process, on any host) adds what it
counted to one Redis hash (`STORE_KEY`), and the web's /metrics reads that hash: each event
is counted once, however many processes there are, and no per-process file is left behind.
The hash is the counters' only copy, so they go back to zero only if Redis loses its data.

The domain only notes (`note`, on the session); the web and the worker push what a session
noted once it has committed (web/db.py, worker/metrics.py), so a rolled back signup is not
counted. Labels are never an address or a recipient's domain: only relay names, outcomes and
other short fixed vocabularies.
"""

from __future__ import annotations

import bisect
import functools
import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session

PREFIX = "broadsheet_"
# The one Redis hash holding every counter; each field is `field_name(...)`.
STORE_KEY = "broadsheet:metrics"
_NOTED = "broadsheet.telemetry"  # where a session keeps what it noted until it commits

# Seconds: one message's SMTP transaction (envelope and body), and one send loop's run.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
RUN_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)


@dataclass(frozen=True)
class Metric:
    """One counter (its exposed name ends in `_total`) or histogram, without the prefix."""

    name: str
    kind: str  # "counter" or "histogram"
    help: str
    labels: tuple[str, ...] = ()
    buckets: tuple[float, ...] = ()


MESSAGES = Metric(
    "messages", "counter",
    "Messages offered to a relay (campaign and transactional), by outcome: sent, failed, "
    "bounced, deferred (refused for now or the connection lost; retried) or unknown.",
    ("outcome", "relay"),
)  # fmt: skip
RELAY_LATENCY = Metric(
    "relay_latency_seconds", "histogram",
    "Time of one message's SMTP transaction at a relay, envelope to the reply to its body.",
    ("relay",), LATENCY_BUCKETS,
)  # fmt: skip
RELAY_CONNECT_FAILURES = Metric(
    "relay_connect_failures", "counter",
    "Connections to a relay that failed (refused, timed out, or answered 4xx/5xx at once).",
    ("relay",),
)  # fmt: skip
RUN_DURATION = Metric(
    "batch_duration_seconds", "histogram",
    "Time of one run of the send loop: a campaign batch or an outbox sweep.",
    ("kind",), RUN_BUCKETS,
)  # fmt: skip
THROTTLE_WAITS = Metric(
    "throttle_waits", "counter", "Times a sender waited for a rate slot before a message.",
    ("relay",),
)  # fmt: skip
THROTTLE_WAIT_SECONDS = Metric(
    "throttle_wait_seconds", "counter", "Seconds senders waited for rate slots.", ("relay",)
)
SIGNUPS = Metric("signups", "counter", "Signups awaiting confirmation (new or asked again).")
CONFIRMATIONS = Metric("confirmations", "counter", "Readers who confirmed their address.")
UNSUBSCRIBES = Metric(
    "unsubscribes", "counter", "Readers who unsubscribed, by how they did it.", ("source",)
)
BOUNCES = Metric(
    "bounces", "counter",
    "Bounce reports received (hard, soft or policy), by where they came from.",
    ("kind", "source"),
)  # fmt: skip
COMPLAINTS = Metric(
    "complaints", "counter", "Complaint (spam) reports received, by where they came from.",
    ("source",),
)  # fmt: skip
OPENS = Metric("opens", "counter", "Message opens recorded, by verdict.", ("verdict",))
CLICKS = Metric("clicks", "counter", "Link clicks recorded, by verdict.", ("verdict",))

METRICS = (
    MESSAGES, RELAY_LATENCY, RELAY_CONNECT_FAILURES, RUN_DURATION, THROTTLE_WAITS,
    THROTTLE_WAIT_SECONDS, SIGNUPS, CONFIRMATIONS, UNSUBSCRIBES, BOUNCES, COMPLAINTS, OPENS,
    CLICKS,
)  # fmt: skip
BY_NAME = {metric.name: metric for metric in METRICS}


def field_name(metric: Metric, labels: Iterable[str], part: str = "") -> str:
    """A field of the store: the metric, its label values and, for a histogram, the part
    (`le=<bound>` for a bucket, counted apart, not cumulatively; `sum`; `count`)."""
    return json.dumps([metric.name, *labels, part] if part else [metric.name, *labels])


def parse_field(field: str) -> tuple[Metric, tuple[str, ...], str] | None:
    """(metric, label values, part) of a stored field; None for a field no metric knows
    (one written by a newer or older version)."""
    try:
        parts = json.loads(field)
    except ValueError:
        return None
    if not isinstance(parts, list) or not parts or not all(isinstance(p, str) for p in parts):
        return None
    metric = BY_NAME.get(parts[0])
    if metric is None:
        return None
    values = tuple(parts[1 : 1 + len(metric.labels)])
    rest = parts[1 + len(metric.labels) :]
    if len(values) != len(metric.labels) or len(rest) != (metric.kind == "histogram"):
        return None
    return metric, values, rest[0] if rest else ""


class Tally:
    """Counts made in memory and pushed to the store in one round trip (worker/metrics.py)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.sums: defaultdict[str, float] = defaultdict(float)  # increments by HINCRBYFLOAT

    def add(self, metric: Metric, *labels: str, n: float = 1) -> None:
        if metric.kind == "counter" and isinstance(n, int):
            self.counts[_field(metric, labels, "")] += n
        else:
            self.sums[_field(metric, labels, "")] += n

    def observe(self, metric: Metric, value: float, *labels: str) -> None:
        """One observation of a histogram: its bucket, its sum and its count."""
        bucket = bisect.bisect_left(metric.buckets, value)
        le = "+Inf" if bucket == len(metric.buckets) else repr(float(metric.buckets[bucket]))
        self.counts[_field(metric, labels, f"le={le}")] += 1
        self.counts[_field(metric, labels, "count")] += 1
        self.sums[_field(metric, labels, "sum")] += value

    def __bool__(self) -> bool:
        return bool(self.counts or self.sums)


@functools.lru_cache(maxsize=4096)
def _field(metric: Metric, labels: tuple[str, ...], part: str) -> str:
    """`field_name`, made once per process for each: the send loop counts every message."""
    return field_name(metric, labels, part)


def note(session: Session, metric: Metric, *labels: str, n: int = 1) -> None:
    """Count an event of this transaction; it reaches the store only if the transaction
    commits (the web's or the worker's session hook pushes it then, and drops it on a
    rollback)."""
    tally = session.info.get(_NOTED)
    if tally is None:
        tally = session.info[_NOTED] = Tally()
    tally.add(metric, *labels, n=n)


def take_noted(session: Session) -> Tally | None:
    """What this session noted since its last commit or rollback, now forgotten."""
    tally: Tally | None = session.info.pop(_NOTED, None)
    return tally
