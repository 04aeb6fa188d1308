"""The `broadsheet` command: run everything, or one part (web, worker, beat), and admin tasks."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click

from broadsheet.errors import ConfigError, NotFound, ValidationError
from broadsheet.models import Role
from broadsheet.settings import Settings, load_settings

T = TypeVar("T")


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        raise click.ClickException(f"bad configuration: {exc}") from exc


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Broadsheet: a self-hosted newsletter sender. Settings come from the environment."""


@main.command()
def run() -> None:
    """Migrate, then start web, worker, scheduler and, where no URL is set, the bundled Redis
    and the local SMTP catcher. Ctrl-C stops everything."""
    from cli.supervisor import run_all

    sys.exit(run_all(_settings()))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=None, help="Port (default: PORT, 5000).")
@click.option("--workers", type=int, default=None, help="Processes (default: one per core).")
@click.option("--threads", type=int, default=4, show_default=True, help="Threads per process.")
def web(host: str, port: int | None, workers: int | None, threads: int) -> None:
    """Serve the web app with gunicorn (a production WSGI server)."""
    from cli.webserver import serve

    settings = _settings()
    serve(settings, host, port or settings.port, workers or (os.cpu_count() or 1), threads)


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.option("--concurrency", "-c", type=int, default=None, help="Worker processes.")
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
def worker(concurrency: int | None, celery_args: tuple[str, ...]) -> None:
    """Start a Celery worker (extra arguments go to `celery worker`)."""
    from worker.command import worker_command

    _settings()
    args = worker_command(concurrency=concurrency, extra=celery_args)
    os.execvp(args[0], args)


@main.command()
def beat() -> None:
    """Start the scheduler (Celery beat): scheduled sends and repair of stalled ones."""
    from worker.command import beat_command

    settings = _settings()
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    args = beat_command(settings.instance_path / "celerybeat-schedule")
    os.execvp(args[0], args)


@main.command()
def status() -> None:
    """Campaigns being sent, queues, workers, beat's last tick, relays and warnings; exits
    with status 1 when there is a warning (for cron or a monitoring check)."""
    from sqlalchemy.exc import SQLAlchemyError

    from cli.status import report

    try:
        found = report(_settings(), click.echo)
    except SQLAlchemyError as exc:
        reason = getattr(exc, "orig", None) or exc
        raise click.ClickException(f"the database cannot be read ({reason}); migrated?") from exc
    sys.exit(1 if found else 0)


@main.group()
def db() -> None:
    """Database schema commands."""


@db.command()
def upgrade() -> None:
    """Apply every pending migration."""
    from broadsheet.migrate import upgrade as migrate

    settings = _settings()
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    migrate(settings.database_url)
    click.echo("database is up to date")


ROLES = click.Choice([role.value for role in Role])


@main.command("create-token")
@click.argument("name")
@click.option("--role", type=ROLES, default=Role.ADMIN.value, show_default=True,
              help="What the token may do, as for a person with that role.")  # fmt: skip
def create_token(name: str, role: str) -> None:
    """Create an API token called NAME; the token is printed once, as the last line."""
    from cli.accounts import issue_token

    token = _checked(lambda: issue_token(_settings(), name, role))
    click.echo(f"API token {name!r} ({role}) created; keep it, it is not shown again:")
    click.echo(token)


@main.command("erase-subscriber")
@click.argument("email")
def erase_subscriber(email: str) -> None:
    """Erase the reader with address EMAIL at their request: their personal data deleted,
    their deliveries and opens kept tied to nobody, the address kept only as a keyed hash so
    that no import or API call adds them back (they may sign up again themselves)."""
    from cli.accounts import erase_reader

    address = _checked(lambda: erase_reader(_settings(), email))
    click.echo(f"{address} is erased.")


@main.command("poll-feeds")
def poll_feeds() -> None:
    """Poll every feed not paused now, in this process (FEED_URLS added first), and say what
    each poll did. Beat polls them every FEED_POLL_SECONDS on its own."""
    from worker.feeds import poll_now
    from worker.resources import resources

    _settings()
    outcomes = poll_now(resources())
    for outcome in outcomes:
        if outcome.error:
            paused = " (paused after repeated failures)" if outcome.paused else ""
            click.echo(f"feed {outcome.feed_id}: failed: {outcome.error}{paused}")
        elif outcome.unchanged:
            click.echo(f"feed {outcome.feed_id}: unchanged")
        else:
            click.echo(
                f"feed {outcome.feed_id}: {outcome.new} new, {outcome.old} only recorded as seen"
            )
    if not outcomes:
        click.echo("no feed to poll (add one with FEED_URLS or the API)")


@main.command("create-admin")
@click.argument("email")
@click.option(
    "--password",
    default=None,
    help="The password (default: asked for, or read from standard input).",
)
@click.option("--role", type=ROLES, default=Role.ADMIN.value, show_default=True)  # fmt: skip
def create_admin(email: str, password: str | None, role: str) -> None:
    """Create an account for the admin at /admin/ that signs in as EMAIL."""
    from cli.accounts import add_user

    settings = _settings()
    if password is None:
        password = _read_password()
    address = _checked(lambda: add_user(settings, email, password, role))
    click.echo(f"{role} {address} created; sign in at {settings.public_url}/admin/")


@main.command("import-subscribers")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--status",
    type=click.Choice(["active", "pending"]),
    default="active",
    show_default=True,
    help="Status of the readers the old sender had as subscribed (pending: each is mailed a "
    "confirmation).",
)
@click.option(
    "--newsletter",
    "newsletters",
    multiple=True,
    metavar="SLUG",
    help="A newsletter the new readers join (repeatable; default: the default one).",
)
@click.option(
    "--tag",
    "tags",
    multiple=True,
    metavar="TAG",
    help="A tag every reader imported (or, with --update, updated) gets (repeatable).",
)
@click.option(
    "--update",
    is_flag=True,
    help="Readers already here take the file's name, attributes and tags, and join the "
    "--newsletter ones (unless they left); their status never changes.",
)
@click.option("--dry-run", is_flag=True, help="Show the mapping and the counts; write nothing.")
@click.option(
    "--rejects",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the rejected rows here (CSV), each with its line and the reason.",
)
def import_subscribers(
    file: Path,
    status: str,
    newsletters: tuple[str, ...],
    tags: tuple[str, ...],
    update: bool,
    dry_run: bool,
    rejects: Path | None,
) -> None:
    """Import readers from FILE, a CSV export of Mailchimp, Substack, Ghost, beehiiv,
    Buttondown, listmonk, or any CSV with an email column. Readers who unsubscribed, bounced
    or complained there come in suppressed; readers already here are skipped. A tags column
    gives tags; the other columns become attributes."""
    from cli.imports import import_file, tell

    settings = _settings()
    summary = _checked(
        lambda: import_file(
            settings,
            file,
            status=status,
            newsletters=newsletters,
            tags=tags,
            update=update,
            dry_run=dry_run,
            rejects=rejects,
        )
    )
    tell(summary, dry_run, click.echo)


@main.command("export-subscribers")
@click.option(
    "--newsletter",
    "newsletters",
    multiple=True,
    metavar="SLUG",
    help="Only readers subscribed to this newsletter (repeatable: to any of them).",
)
@click.option("--status", default=None, help="Only readers in this status (active, ...).")
@click.option(
    "--segment",
    default=None,
    metavar="NAME",
    help="Only readers the rules of this saved segment choose (any status; add --status active "
    "for those a campaign to it reaches).",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the CSV here (default: standard output).",
)
def export_subscribers(
    newsletters: tuple[str, ...], status: str | None, segment: str | None, output: Path | None
) -> None:
    """Write readers as CSV (email, name, status, created_at, tags, attributes as JSON),
    oldest first, streamed; the count goes to standard error. import-subscribers reads the
    file back, tags and attributes included."""
    from cli.imports import export_file

    settings = _settings()
    with click.open_file(str(output) if output else "-", "w", encoding="utf-8") as out:
        count = _checked(
            lambda: export_file(
                settings, out, newsletters=newsletters, status=status, segment=segment
            )
        )
    click.echo(f"{count:,} readers exported", err=True)


def _read_password() -> str:
    """A password typed twice at a terminal, or the first line of standard input."""
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return sys.stdin.readline().rstrip("\r\n")


def _checked(make: Callable[[], T]) -> T:
    """Domain validation errors as a clear command-line error, naming each field."""
    try:
        return make()
    except ValidationError as exc:
        problems = "; ".join(f"{field}: {message}" for field, message in exc.fields.items())
        raise click.ClickException(problems) from exc
    except NotFound as exc:
        raise click.ClickException(str(exc)) from exc


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=None, help="Port (default: CATCHER_PORT, 8025).")
def catcher(host: str, port: int | None) -> None:
    """Run the local SMTP catcher, filing mail in the instance Maildir."""
    from cli.catcher import serve

    settings = _settings()
    serve(settings.maildir, host, port or settings.catcher_port)


@main.command("redis")
def redis_server() -> None:
    """Run the bundled Redis server on the instance's Unix socket."""
    from cli.redis_server import redis_server_args

    settings = _settings()
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    args = redis_server_args(settings.redis_socket, settings.instance_path)
    os.execv(args[0], args)
