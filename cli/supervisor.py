"""`broadsheet run`: migrate, then supervise every process the embedded default needs."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from honcho.manager import Manager

from broadsheet.migrate import upgrade
from broadsheet.settings import Settings
from cli.accounts import has_users, run_token

# Settings another terminal needs as this run has them: the database the account goes into,
# and where the admin is served (create-admin prints its address).
SHARED = ("BROADSHEET_INSTANCE", "DATABASE_URL", "PORT", "PUBLIC_URL")


def processes(settings: Settings) -> dict[str, str]:
    """Name -> command line; Redis and the catcher only where no URL points elsewhere."""
    me = f"{shlex.quote(sys.executable)} -m cli"
    procs: dict[str, str] = {}
    if settings.embedded_redis:
        procs["redis"] = f"{me} redis"
    if settings.embedded_smtp:
        procs["mail"] = f"{me} catcher"
    procs["web"] = f"{me} web"
    procs["worker"] = f"{me} worker --concurrency 2"
    procs["beat"] = f"{me} beat"
    return procs


def run_all(settings: Settings) -> int:
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url)
    token = run_token(settings)
    admin = has_users(settings)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    manager = Manager()
    for name, command in processes(settings).items():
        manager.add_process(name, command, env=env)
    print(_banner(settings, token, admin), flush=True)
    manager.loop()
    return manager.returncode or 0


def _banner(settings: Settings, token: str, has_admin: bool) -> str:
    mail = f"Maildir {settings.maildir}" if settings.embedded_smtp else settings.smtp_url
    command = shlex.quote(str(Path(sys.executable).parent / "broadsheet"))
    first_admin = [
        "",
        "  No one can sign in to the admin yet. Create the first account in another terminal:",
        f"    {_shared_settings(settings)}{command} create-admin you@example.org",
    ]
    return "\n".join(
        [
            "",
            f"  Broadsheet    {settings.public_url}/subscribe",
            f"  Admin         {settings.public_url}/admin/",
            f"  API           {settings.public_url}/api/v1  (Authorization: Bearer <token>)",
            f"  Mail          {mail}",
            f"  Database      {settings.database_url}",
            f"  API token     {token}",
            *([] if has_admin else first_admin),
            "",
        ]
    )


def _shared_settings(settings: Settings) -> str:
    """`NAME=value ` for each of SHARED set for this run, as a shell reads it: a terminal
    without them would put the account in another database and name another port."""
    resolved = {"BROADSHEET_INSTANCE": str(settings.instance_path), "PORT": str(settings.port)}
    given = [name for name in SHARED if os.environ.get(name)]
    return "".join(f"{name}={shlex.quote(resolved.get(name, os.environ[name]))} " for name in given)
