"""gunicorn serving the Flask app built by `web.create_app`, started from code, not by name."""

from __future__ import annotations

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

from broadsheet.settings import Settings
from web import create_app
from web.tracking import TRACKING_PATHS

# LOG_FORMAT=json: gunicorn's own lines, its access log and the app's (through the root
# logger) as one JSON object a line (broadsheet/logformat.py); merged over gunicorn's defaults.
JSON_LOGS: dict[str, object] = {
    "version": 1,
    "formatters": {"json": {"()": "broadsheet.logformat.JsonFormatter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json",
                    "stream": "ext://sys.stdout"},
        "error_console": {"class": "logging.StreamHandler", "formatter": "json",
                          "stream": "ext://sys.stderr"},
    },
    "root": {"level": "INFO", "handlers": ["error_console"]},
}  # fmt: skip


class AccessLog(Logger):  # type: ignore[misc]  # gunicorn ships no types
    """gunicorn's logger, with no access line for an open pixel or a click (`/t/...`): its
    token names the delivery, and the line would keep the reader's address and agent beside
    it, which tracking promises not to (only its verdict is kept). /metrics counts them."""

    def access(self, resp: object, req: object, environ: dict[str, str], took: object) -> None:
        if not environ.get("PATH_INFO", "").startswith(TRACKING_PATHS):
            super().access(resp, req, environ, took)


class WebServer(BaseApplication):  # type: ignore[misc]  # gunicorn ships no types: its base is Any
    """gunicorn with the given options; each worker process builds its own app (no preload),
    so no connection is shared across a fork."""

    def __init__(self, settings: Settings, options: dict[str, object]) -> None:
        self.settings, self.options = settings, options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return create_app(self.settings)


def serve(settings: Settings, host: str, port: int, workers: int, threads: int = 4) -> None:
    """Serve until stopped (SIGINT or SIGTERM stop gunicorn gracefully).

    One process per core, each with a few threads (gunicorn's gthread worker): a request
    waiting on the database, Redis or a slow client holds a thread, not a process, and the
    processes do not outnumber the cores they compete for. At 200 signups/s on 2 cores, 2
    processes of 4 threads answered with a p99 of 19 ms where 4 single-threaded ones took
    57 ms (bench/signup.py, the web alone)."""
    options: dict[str, object] = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "accesslog": "-",
        "logger_class": AccessLog,
        "control_socket_disable": True,
        "proc_name": "broadsheet-web",
    }
    if settings.log_format == "json":
        options["logconfig_dict"] = JSON_LOGS
    WebServer(settings, options).run()
