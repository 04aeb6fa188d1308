"""GET /metrics in the Prometheus text format: the counters every process adds to Redis
(broadsheet/telemetry.py), and gauges read at scrape time (the backlog, the oldest queued
delivery, the outbox, Celery's queues, live workers). With Redis or the database down it
still answers, with what the other holds and a gauge saying which is down.

Any gunicorn worker answers with the same figures: they are all read from Redis and the
database, none kept in the process. With METRICS_TOKEN set, the scrape needs
`Authorization: Bearer <token>`.
"""

from __future__ import annotations

import hmac
import math
from collections import defaultdict
from collections.abc import Iterator, Mapping

import redis
from flask import Blueprint, Flask, Response, current_app, request
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from broadsheet import health, telemetry
from broadsheet.services import vitals
from broadsheet.settings import Settings
from web.db import session
from web.extensions import redis_client
from web.health import queue_depths

bp = Blueprint("metrics", __name__)
P = telemetry.PREFIX


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


@bp.get("/metrics")
def metrics() -> Response:
    settings: Settings = current_app.config["BROADSHEET"]
    if settings.metrics_token and not _authorized(settings.metrics_token):
        return Response(
            "this endpoint needs Authorization: Bearer <METRICS_TOKEN>\n", 401,
            {"WWW-Authenticate": 'Bearer realm="metrics"'}, mimetype="text/plain",
        )  # fmt: skip
    registry = CollectorRegistry(auto_describe=False)
    registry.register(Scrape(redis_client(), session()))
    body = generate_latest(registry)
    return Response(body, mimetype="text/plain; version=0.0.4; charset=utf-8")


def _authorized(token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token)


class Scrape(Collector):
    """One scrape's figures: the stored counters, then the gauges read now."""

    def __init__(self, client: redis.Redis, db: Session) -> None:
        self.client, self.db = client, db

    def collect(self) -> Iterator[Metric]:
        up = 1.0
        try:
            stored = self.client.hgetall(telemetry.STORE_KEY)
            depths = queue_depths(self.client)
            workers = sum(1 for _ in self.client.scan_iter(match=health.WORKER_KEY + "*"))
        except redis.RedisError:
            stored, depths, workers, up = {}, {}, 0, 0.0
        yield from counters(stored)
        yield GaugeMetricFamily(
            P + "redis_up", "Whether Redis answered this scrape (1) or not.", up
        )
        queue = GaugeMetricFamily(
            P + "celery_queue_length", "Tasks waiting in a Celery queue.", labels=["queue"]
        )
        for name, depth in depths.items():
            queue.add_metric([name], depth)
        yield queue
        yield GaugeMetricFamily(
            P + "workers_alive", "Celery workers whose heartbeat is current.", workers
        )
        try:
            backlog = vitals.backlog(self.db)
        except SQLAlchemyError:  # the Redis side is still worth a scrape
            backlog = None
        yield GaugeMetricFamily(
            P + "database_up", "Whether the database answered this scrape (1) or not.",
            0.0 if backlog is None else 1.0,
        )  # fmt: skip
        if backlog is None:
            return
        for name, help_text, value in (
            ("backlog_deliveries", "Deliveries queued or in flight across the campaigns "
             "being sent.", backlog.deliveries),
            ("outbox_due_messages", "Transactional messages due now.", backlog.outbox_due),
            ("oldest_queued_delivery_age_seconds", "Age of the oldest delivery still queued "
             "in a campaign being sent (0: none).", backlog.oldest_queued_seconds),
            ("campaigns_sending", "Campaigns being sent.", backlog.sending_campaigns),
        ):  # fmt: skip
            yield GaugeMetricFamily(P + name, help_text, value)


def counters(stored: Mapping[bytes | str, bytes | str]) -> Iterator[Metric]:
    """The counters and histograms of the store, every metric named even before its first
    event (so a dashboard's query finds it), histogram buckets made cumulative."""
    values: dict[str, dict[tuple[str, ...], dict[str, float]]] = defaultdict(dict)
    for raw_field, raw_value in stored.items():
        name = raw_field.decode() if isinstance(raw_field, bytes) else raw_field
        parsed = telemetry.parse_field(name)
        if parsed is None:
            continue
        metric, labels, part = parsed
        values[metric.name].setdefault(labels, {})[part] = float(raw_value)
    for metric in telemetry.METRICS:
        series = values.get(metric.name, {})
        if metric.kind == "counter":
            family = CounterMetricFamily(P + metric.name, metric.help, labels=metric.labels)
            for labels, parts in sorted(series.items()):
                family.add_metric(list(labels), parts.get("", 0.0))
            yield family
            continue
        histogram = HistogramMetricFamily(P + metric.name, metric.help, labels=metric.labels)
        for labels, parts in sorted(series.items()):
            histogram.add_metric(list(labels), _cumulative(metric, parts), parts.get("sum", 0.0))
        yield histogram


def _cumulative(metric: telemetry.Metric, parts: dict[str, float]) -> list[tuple[str, float]]:
    """Buckets as Prometheus wants them: each counting every observation up to its bound."""
    running, buckets = 0.0, []
    for bound in (*metric.buckets, math.inf):
        le = "+Inf" if bound == math.inf else repr(float(bound))
        running += parts.get(f"le={le}", 0.0)
        buckets.append((le, running))
    return buckets
