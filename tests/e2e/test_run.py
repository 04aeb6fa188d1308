"""`broadsheet run` (what `make run` starts): the embedded setup serves the signup page, mail
lands in the catcher's Maildir, and Ctrl-C stops every process it started."""

from __future__ import annotations

import http.cookiejar
import mailbox
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import select

from broadsheet.errors import ValidationError
from broadsheet.models import ApiToken
from broadsheet.services.api_tokens import (
    RUN_TOKEN_NAME,
    authenticate,
    create_token,
    replace_run_token,
)
from tests.support.services import make_tempdir
from tests.support.smtp import free_port

EXTERNAL = ("DATABASE_URL", "REDIS_URL", "SMTP_URL", "PUBLIC_URL", "SECRET_KEY", "SEND_RATE")
BANNER_TOKEN = re.compile(r"API token\s+(bs_\S+)")


def own_env(**settings: str) -> dict[str, str]:
    """This process's environment without the settings that point elsewhere, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if k not in EXTERNAL}
    return {**env, **settings}


@contextmanager
def started(
    instance: Path, port: int, catcher: int, log_name: str = "run.log"
) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """`broadsheet run` on `instance`, its output in `log_name` there; killed if still up."""
    env = own_env(BROADSHEET_INSTANCE=str(instance), PORT=str(port), CATCHER_PORT=str(catcher))
    path = instance / log_name
    with path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cli", "run"],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            yield proc, path
        finally:
            stop(proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop `broadsheet run` if a test left it up: Ctrl-C first, so honcho stops the processes
    it started (each in a process group of its own, which a SIGKILL of its group would
    orphan), then SIGKILL if it has not gone."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


@pytest.fixture
def running():
    instance = make_tempdir()
    port = free_port()
    with started(instance, port, free_port()) as (proc, _):
        yield proc, instance, f"http://127.0.0.1:{port}"


def wait_until(check, timeout: float, what: str, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"{what} within {timeout}s; log:\n{log.read_text()[-4000:]}")


def csrf_token_in(page: str | None) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page or "")
    assert found is not None, f"no form token in {page!r}"
    return found.group(1)


def fetch(opener, url: str, data: dict[str, str] | None = None) -> str | None:
    body = urllib.parse.urlencode(data).encode() if data else None
    try:
        with opener.open(url, data=body, timeout=5) as answer:
            page: str = answer.read().decode()
            return page
    except OSError:
        return None


def make_first_admin_as_the_banner_says(banner: str) -> str:
    """Run the banner's create-admin command as typed in another terminal, one whose own
    settings differ (another instance, the default port); returns where it says to sign in."""
    command = re.search(r"^ +(\S.* create-admin you@example\.org)$", banner, re.MULTILINE)
    assert command, f"the banner says how to make the first admin:\n{banner}"
    elsewhere = own_env(BROADSHEET_INSTANCE=str(make_tempdir()))
    elsewhere.pop("PORT", None)
    made = subprocess.run(
        ["sh", "-c", command.group(1)], input="a good long password\n", env=elsewhere,
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    signs_in_at = re.search(r"sign in at (\S+)", made.stdout)
    assert signs_in_at is not None, made.stdout
    return signs_in_at.group(1)


def test_run_serves_signup_and_mail_reaches_the_maildir(running):
    proc, instance, base = running
    log = instance / "run.log"
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    form = wait_until(lambda: fetch(opener, f"{base}/subscribe"), 90, "signup page up", log)
    token = csrf_token_in(form)
    answer = fetch(opener, f"{base}/subscribe", {"email": "ann@example.org", "csrf_token": token})
    assert answer and "Check your inbox" in answer

    maildir = instance / "mail"
    mails = wait_until(
        lambda: maildir.exists() and list(mailbox.Maildir(maildir, create=False)),
        60, "confirmation mail in the Maildir", log,
    )  # fmt: skip
    text = mails[0].as_string()
    assert "Delivered-To: ann@example.org" in text
    assert f"{base}/confirm/" in text
    banner = log.read_text()
    assert re.search(r"API token\s+bs_\S+", banner)
    assert fetch(opener, f"{base}/admin/login"), "the admin answers"
    signs_in_at = make_first_admin_as_the_banner_says(banner)
    assert signs_in_at == f"{base}/admin/", "create-admin names the admin this run serves"
    page = fetch(opener, signs_in_at + "login")
    token = csrf_token_in(page)
    signed_in = fetch(
        opener, f"{base}/admin/login",
        {"email": "you@example.org", "password": "a good long password", "csrf_token": token},
    )  # fmt: skip
    assert signed_in and "you@example.org · admin" in signed_in, "the account is this run's"

    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
    assert proc.wait(30) is not None
    leftovers = subprocess.run(
        ["pgrep", "-f", str(instance)], capture_output=True, text=True, check=False
    ).stdout.split()
    assert leftovers == [], f"processes still running: {leftovers}"


def api_status(base: str, token: str) -> int | None:
    """What the API answers `token` (None: nothing answers yet)."""
    ask = urllib.request.Request(
        f"{base}/api/v1/campaigns", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(ask, timeout=5) as answer:
            status: int = answer.status
            return status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def test_each_run_replaces_its_own_token_and_leaves_tokens_made_by_hand():
    instance, port = make_tempdir(), free_port()
    base = f"http://127.0.0.1:{port}"
    cli = [sys.executable, "-m", "cli"]
    env = own_env(BROADSHEET_INSTANCE=str(instance))
    subprocess.run([*cli, "db", "upgrade"], env=env, check=True, capture_output=True)
    made = subprocess.run(
        [*cli, "create-token", "CMS", "--role", "operator"],
        env=env, check=True, capture_output=True, text=True,
    ).stdout.split()[-1]  # fmt: skip
    taken = subprocess.run(
        [*cli, "create-token", RUN_TOKEN_NAME], env=env, capture_output=True, text=True
    )
    assert taken.returncode != 0 and "is kept for the token" in taken.stderr
    printed = []
    for start in (1, 2):
        with started(instance, port, free_port(), f"run-{start}.log") as (proc, log):
            found = wait_until(lambda: BANNER_TOKEN.search(log.read_text()), 90, "banner", log)
            printed.append(found.group(1))
            wait_until(lambda: api_status(base, printed[-1]) == 200, 90, "its token works", log)
            if start == 2:
                assert api_status(base, printed[0]) == 401, "the last run's token is refused"
                assert api_status(base, made) == 200, "a token made by hand still works"
            os.killpg(proc.pid, signal.SIGINT)
            proc.wait(30)
    with sqlite3.connect(instance / "broadsheet.db") as db:
        names = db.execute("SELECT name FROM api_tokens WHERE revoked_at IS NULL").fetchall()
    assert sorted(names) == [("CMS",), (RUN_TOKEN_NAME,)], "one token of its own, still"


def test_the_runs_token_is_replaced_and_its_name_kept_for_it(db):
    by_hand = create_token(db, "CMS publisher", "editor")[1]
    first, second = replace_run_token(db), replace_run_token(db)
    assert authenticate(db, first) is None
    assert authenticate(db, second) is not None and authenticate(db, by_hand) is not None
    assert db.scalars(select(ApiToken.name).order_by(ApiToken.id)).all() == [
        "CMS publisher",
        RUN_TOKEN_NAME,
    ]
    with pytest.raises(ValidationError) as refused:
        create_token(db, f"  {RUN_TOKEN_NAME} ", "admin")
    assert "is kept for" in refused.value.fields["name"]
